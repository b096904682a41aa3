package cachedsql_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/cachedsql"
	"github.com/dogpile-go/dogpile/region"
)

// A program's own cached functions can live in the DB's region, on a bytes
// store too, and share tags with the DB's queries.
func TestFunctionsInTheDBRegion(t *testing.T) {
	store, err := memory.New(memory.Options{Serialized: true})
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	var mu sync.Mutex
	db, _ := newDB(t, cachedsql.WithBackend(store), cachedsql.WithErrorHandler(func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}))
	ctx := context.Background()
	var calls atomic.Int64
	price := region.MustCacheOnArguments(db.Region(), func(ctx context.Context, id int) (string, error) {
		calls.Add(1)
		var p string
		err := db.GetContext(cachedsql.ContextWithTags(ctx, "item"), &p, "SELECT price::text FROM items WHERE id = $1", id)
		return p, err
	}, region.TagsFor(func(id int) []string { return []string{db.Tag("item")} }))
	for range 3 {
		if p, err := price.Call(ctx, 3); err != nil || p != "7.00" {
			t.Fatalf("Call = %q, %v", p, err)
		}
	}
	if calls.Load() != 1 {
		t.Fatalf("the function ran %d times on a bytes store, want 1 (values must be cached)", calls.Load())
	}
	// One tag for the function and a tagged query.
	var name string
	tagged := cachedsql.ContextWithTags(ctx, "item")
	_ = db.GetContext(tagged, &name, "SELECT name FROM items WHERE id = 3")
	db.Inner().Exec("UPDATE items SET price = 9, name = 'brie' WHERE id = 3") // past the cache
	if err := db.InvalidateTags(ctx, "item"); err != nil {
		t.Fatal(err)
	}
	if p, _ := price.Call(ctx, 3); p != "9.00" {
		t.Fatalf("after InvalidateTags the function gave %q", p)
	}
	if _ = db.GetContext(tagged, &name, "SELECT name FROM items WHERE id = 3"); name != "brie" {
		t.Fatalf("after InvalidateTags the query gave %q", name)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(errs) != 0 {
		t.Fatalf("errors reported: %v", errs)
	}
}

// failingStore fails every write to the cache.
type failingStore struct{ backend.ProxyBackend }

var errStoreDown = errors.New("store down")

func (failingStore) Set(context.Context, string, backend.Entry) error { return errStoreDown }
func (failingStore) SetWithTTL(context.Context, string, backend.Entry, time.Duration) error {
	return errStoreDown
}

func TestErrorHandlerHearsCacheFailures(t *testing.T) {
	store, _ := memory.New(memory.Options{})
	b, _ := backend.Wrap(store, &failingStore{})
	var told atomic.Int64
	db, _ := newDB(t, cachedsql.WithBackend(b), cachedsql.WithErrorHandler(func(err error) {
		if errors.Is(err, errStoreDown) {
			told.Add(1)
		}
	}))
	var n int
	if err := db.Get(&n, "SELECT count(*) FROM items"); err != nil || n != 3 {
		t.Fatalf("Get with a failing cache = %d, %v; the query must not fail", n, err)
	}
	if told.Load() == 0 {
		t.Fatal("the error handler was not told that the cache failed")
	}
}

func TestWaitRefreshes(t *testing.T) {
	db, _ := newDB(t)
	ctx := context.Background()
	q := "SELECT name FROM items WHERE id = 1"
	var name string
	_ = db.Get(&name, q)
	tx := db.MustBegin()
	tx.MustExec("UPDATE items SET name = 'apricot' WHERE id = 1")
	tx.RefreshAfterCommit(db.RefreshQuery(q))
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := tx.WaitRefreshes(ctx); err != nil {
		t.Fatal(err)
	}
	before := created(db)
	if err := db.Get(&name, q); err != nil || name != "apricot" || created(db) != before {
		t.Fatalf("after WaitRefreshes: %q, %v, %d new queries; want the refreshed value from the cache", name, err, created(db)-before)
	}
}

// countingStrategy invalidates nothing and counts the calls it gets.
type countingStrategy struct{ invalidations, checks atomic.Int64 }

func (c *countingStrategy) Invalidate(context.Context, bool) error {
	c.invalidations.Add(1)
	return nil
}

func (c *countingStrategy) Invalidated(time.Time) region.Invalidation {
	c.checks.Add(1)
	return region.NotInvalidated
}

func TestCacheKeyAndInvalidationOption(t *testing.T) {
	inv := &countingStrategy{}
	db, _ := newDB(t, cachedsql.WithInvalidation(inv))
	ctx := context.Background()
	key, err := db.CacheKey("SELECT name FROM items WHERE id = $1", 1)
	if err != nil || key == "" {
		t.Fatalf("CacheKey = %q, %v", key, err)
	}
	if _, err := db.CacheKey("SELECT now()"); !errors.Is(err, cachedsql.ErrNotCacheable) {
		t.Fatalf("CacheKey of a volatile read = %v", err)
	}
	var name string
	_ = db.Get(&name, "SELECT name FROM items WHERE id = $1", 1)
	if _, ok, _ := region.Get[any](ctx, db.Region(), key); !ok {
		t.Fatal("nothing cached under CacheKey's key")
	}
	if err := db.Region().Invalidate(ctx, true); err != nil {
		t.Fatal(err)
	}
	if inv.invalidations.Load() != 1 || inv.checks.Load() == 0 {
		t.Fatalf("the given strategy saw %d invalidations and %d checks; the DB's region does not use it",
			inv.invalidations.Load(), inv.checks.Load())
	}
}

// The same query read with and without the caller's tags is two entries,
// each cached.
func TestCallerTagsAreAnotherEntry(t *testing.T) {
	db, _ := newDB(t)
	ctx := context.Background()
	tagged := cachedsql.ContextWithTags(ctx, "item:1")
	q := "SELECT name FROM items WHERE id = 1"
	var name string
	for range 3 {
		_ = db.GetContext(ctx, &name, q)
		_ = db.GetContext(tagged, &name, q)
	}
	if c := created(db); c != 2 {
		t.Fatalf("%d queries for one query read with and without tags, alternating; want 2 (one each)", c)
	}
}

// CacheKeyContext names the entry of a read made with tags; CacheKey that
// of the read without, and the two differ.
func TestCacheKeyContextCoversCallerTags(t *testing.T) {
	db, _ := newDB(t)
	ctx := context.Background()
	tagged := cachedsql.ContextWithTags(ctx, "item:1")
	q := "SELECT name FROM items WHERE id = $1"
	var name string
	if err := db.GetContext(tagged, &name, q, 1); err != nil {
		t.Fatal(err)
	}
	withTags, err := db.CacheKeyContext(tagged, q, 1)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := db.CacheKey(q, 1)
	if err != nil {
		t.Fatal(err)
	}
	if withTags == plain {
		t.Fatalf("CacheKeyContext with tags = CacheKey without = %q", plain)
	}
	if _, ok, _ := region.Get[any](ctx, db.Region(), withTags); !ok {
		t.Fatal("nothing cached under CacheKeyContext's key for the tagged read")
	}
	if _, ok, _ := region.Get[any](ctx, db.Region(), plain); ok {
		t.Fatal("something cached under CacheKey's key, though only the tagged read ran")
	}
	if k, err := db.CacheKeyContext(ctx, q, 1); err != nil || k != plain {
		t.Fatalf("CacheKeyContext with no tags = %q, %v; want CacheKey's %q", k, err, plain)
	}
}
