package cachedsql_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/dogpile-go/dogpile/cachedsql"
)

// A refresh after commit that panics, found in an audit: the runner's
// pool recovered the panic and nothing reached the error handler (and a
// runner of the program's own that does not recover would crash it). A
// refresh's panic is reported as a hook's is.
func TestRefreshPanicIsReported(t *testing.T) {
	var mu sync.Mutex
	var reported []error
	db, _ := newDB(t, cachedsql.WithErrorHandler(func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }))
	tx := db.MustBegin()
	tx.MustExec("UPDATE items SET name = 'x' WHERE id = 1")
	tx.RefreshAfterCommit(cachedsql.RefresherFunc(func(context.Context) error { panic("refresh exploded") }))
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := tx.WaitRefreshes(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, err := range reported {
		if errors.Is(err, cachedsql.ErrHook) {
			return
		}
	}
	t.Fatalf("a refresh that panicked reported %v; want an ErrHook", reported)
}
