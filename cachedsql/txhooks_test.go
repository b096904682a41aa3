package cachedsql_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/cachedsql"
)

// Hooks registered once the transaction has ended, found in an audit: they
// were dropped without a word. One registered for the outcome that
// happened runs at once, on the registering goroutine; one for the other
// outcome never runs.
func TestHooksRegisteredAfterTheEnd(t *testing.T) {
	db, _ := newDB(t)
	for _, commit := range []bool{true, false} {
		tx := db.MustBegin()
		tx.MustExec("UPDATE items SET name = 'late' WHERE id = 1")
		var err error
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
		var committed, rolledBack atomic.Int64
		tx.AfterCommit(func(context.Context) { committed.Add(1) })
		tx.AfterRollback(func(context.Context) { rolledBack.Add(1) })
		var refreshed atomic.Int64
		tx.RefreshAfterCommit(cachedsql.RefresherFunc(func(context.Context) error { refreshed.Add(1); return nil }))
		if err := tx.WaitRefreshes(context.Background()); err != nil {
			t.Fatal(err)
		}
		want := map[bool][3]int64{true: {1, 0, 1}, false: {0, 1, 0}}[commit]
		if got := [3]int64{committed.Load(), rolledBack.Load(), refreshed.Load()}; got != want {
			t.Fatalf("commit %v: hooks registered after the end ran (commit, rollback, refresh) %v times; want %v", commit, got, want)
		}
	}
}

// WaitRefreshes called while Commit is still running waits for the
// refreshes Commit goes on to queue, not only for those queued so far.
func TestWaitRefreshesDuringCommit(t *testing.T) {
	db, _ := newDB(t)
	tx := db.MustBegin()
	tx.MustExec("UPDATE items SET name = 'waited' WHERE id = 1")
	inHook, release := make(chan struct{}), make(chan struct{})
	tx.AfterCommit(func(context.Context) { close(inHook); <-release })
	var refreshed atomic.Bool
	tx.RefreshAfterCommit(cachedsql.RefresherFunc(func(context.Context) error { refreshed.Store(true); return nil }))
	committed := make(chan error, 1)
	go func() { committed <- tx.Commit() }()
	<-inHook // the commit is done in the database; its refreshes are not queued yet
	waited := make(chan error, 1)
	go func() { waited <- tx.WaitRefreshes(context.Background()) }()
	select {
	case err := <-waited:
		t.Fatalf("WaitRefreshes returned (%v) while Commit had not queued its refresh", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-waited; err != nil {
		t.Fatal(err)
	}
	if !refreshed.Load() {
		t.Fatal("WaitRefreshes returned before the refresh ran")
	}
	if err := <-committed; err != nil {
		t.Fatal(err)
	}
}
