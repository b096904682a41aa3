package cachedsql_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/cachedsql"
	"github.com/dogpile-go/dogpile/cachedsql/sqlanalysis"
	"github.com/dogpile-go/dogpile/internal/testenv"
)

// newDB opens a fresh PostgreSQL database through cachedsql, with a table
// of items.
func newDB(t *testing.T, opts ...cachedsql.Option) (*cachedsql.DB, string) {
	t.Helper()
	dsn := testenv.PostgresDB(t)
	db, err := cachedsql.Connect("pgx", dsn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.MustExec(`CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2), tags text[])`)
	db.MustExec(`INSERT INTO items VALUES (1, 'apple', 1.50, '{fruit}'), (2, 'bread', 2.25, NULL), (3, 'cheese', 7.00, '{dairy,aged}')`)
	return db, dsn
}

// memStore makes a memory store, closed when t ends.
func memStore(t *testing.T, o memory.Options) *memory.Store {
	t.Helper()
	s, err := memory.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type item struct {
	ID    int            `db:"id"`
	Name  string         `db:"name"`
	Price sql.NullString `db:"price"`
}

// behindTheBack writes through psql, a process the cache never sees: a
// read that still returns the old value came from the cache.
func behindTheBack(t *testing.T, dsn, stmt string) {
	t.Helper()
	testenv.Psql(t, dsn, stmt)
}

func created(db *cachedsql.DB) int64 { return db.Region().Stats().Created }

func TestReadsAreCached(t *testing.T) {
	db, dsn := newDB(t)
	var a item
	if err := db.Get(&a, "SELECT id, name, price FROM items WHERE id = $1", 1); err != nil {
		t.Fatal(err)
	}
	behindTheBack(t, dsn, "UPDATE items SET name = 'changed behind the cache' WHERE id = 1")
	var b item
	if err := db.Get(&b, "SELECT id, name, price FROM items WHERE id = $1", 1); err != nil {
		t.Fatal(err)
	}
	if b.Name != "apple" {
		t.Fatalf("second read = %q: not served from the cache", b.Name)
	}
	// Comments, spacing and keyword case do not change the key.
	var c item
	if err := db.Get(&c, "select id,  name, price from items -- the same query\n where id = $1", 1); err != nil || c.Name != "apple" {
		t.Fatalf("normalized read = %+v, %v", c, err)
	}
	// The argument's type is part of the key: "1" is another query.
	if created(db) != 1 {
		t.Fatalf("%d creations for one query", created(db))
	}
}

func TestWriteInvalidates(t *testing.T) {
	db, _ := newDB(t)
	var names []string
	q := "SELECT name FROM items ORDER BY id"
	if err := db.Select(&names, q); err != nil || len(names) != 3 {
		t.Fatalf("Select = %v, %v", names, err)
	}
	res, err := db.Exec("UPDATE items SET name = $1 WHERE id = $2", "apricot", 1)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("RowsAffected = %d", n)
	}
	names = nil
	if err := db.Select(&names, q); err != nil || names[0] != "apricot" {
		t.Fatalf("after the update Select = %v, %v; want the new name", names, err)
	}
	// A write to another table leaves this one cached.
	db.MustExec("CREATE TABLE other (x int)")
	before := created(db)
	db.MustExec("INSERT INTO other VALUES (1)")
	names = nil
	_ = db.Select(&names, q)
	if created(db) != before {
		t.Fatal("a write to another table invalidated items")
	}
}

// A table named with its database ("db".public.items, which PostgreSQL
// accepts for the current database) is the same table as items: a write
// to either invalidates reads of both (found in an audit: the catalog was
// kept in the tag).
func TestCatalogQualifiedNames(t *testing.T) {
	db, _ := newDB(t)
	var dbname string
	if err := db.Inner().QueryRow("SELECT current_database()").Scan(&dbname); err != nil {
		t.Fatal(err)
	}
	qualified := `"` + dbname + `".public.items`
	for _, tc := range []struct{ read, write string }{
		{"SELECT name FROM " + qualified + " WHERE id = 1", "UPDATE items SET name = 'first' WHERE id = 1"},
		{"SELECT name FROM items WHERE id = 1", "UPDATE " + qualified + " SET name = 'second' WHERE id = 1"},
	} {
		var before, after string
		if err := db.Get(&before, tc.read); err != nil { // cached
			t.Fatal(err)
		}
		db.MustExec(tc.write)
		var want string
		if err := db.Inner().QueryRow("SELECT name FROM items WHERE id = 1").Scan(&want); err != nil {
			t.Fatal(err)
		}
		if err := db.Get(&after, tc.read); err != nil || after != want {
			t.Errorf("%s after %s = %q, %v; want %q", tc.read, tc.write, after, err, want)
		}
	}
}

func TestTransactions(t *testing.T) {
	db, dsn := newDB(t)
	ctx := context.Background()
	q := "SELECT name FROM items WHERE id = 2"
	var name string
	_ = db.Get(&name, q)
	behindTheBack(t, dsn, "UPDATE items SET name = 'bagel' WHERE id = 2")

	tx := db.MustBegin()
	var inTx string
	if err := tx.Get(&inTx, q); err != nil || inTx != "bagel" {
		t.Fatalf("a read inside a transaction = %q, %v; it must bypass the cache", inTx, err)
	}
	tx.MustExec("UPDATE items SET name = 'brioche' WHERE id = 2")
	var outside string
	_ = db.Get(&outside, q)
	if outside == "brioche" {
		t.Fatal("an uncommitted write is visible outside the transaction")
	}
	var hooked atomic.Int64
	tx.AfterCommit(func(context.Context) { hooked.Add(1) })
	tx.AfterRollback(func(context.Context) { t.Error("rollback hook ran after a commit") })
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if hooked.Load() != 1 {
		t.Fatal("commit hook did not run")
	}
	if err := db.GetContext(ctx, &name, q); err != nil || name != "brioche" {
		t.Fatalf("after the commit = %q, %v", name, err)
	}

	// A rolled-back write invalidates nothing and is never seen.
	before := created(db)
	tx = db.MustBegin()
	tx.MustExec("UPDATE items SET name = 'ghost' WHERE id = 2")
	var rolledBack atomic.Int64
	tx.AfterRollback(func(context.Context) { rolledBack.Add(1) })
	tx.AfterCommit(func(context.Context) { t.Error("commit hook ran after a rollback") })
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if rolledBack.Load() != 1 {
		t.Fatal("rollback hook did not run")
	}
	if err := db.Get(&name, q); err != nil || name != "brioche" || created(db) != before {
		t.Fatalf("after a rollback = %q, %v (creations %d → %d); want the cached value", name, err, before, created(db))
	}
}

func TestHookFailureNeverFailsCommit(t *testing.T) {
	var reported []error
	var mu sync.Mutex
	db, _ := newDB(t, cachedsql.WithErrorHandler(func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }))
	tx := db.MustBegin()
	tx.MustExec("UPDATE items SET name = 'x' WHERE id = 1")
	var second bool
	tx.AfterCommit(func(context.Context) { panic("hook exploded") })
	tx.AfterCommit(func(context.Context) { second = true })
	if err := tx.Commit(); err != nil {
		t.Fatalf("Commit with a panicking hook = %v, want nil", err)
	}
	if !second {
		t.Fatal("a failing hook stopped the hooks after it")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reported) == 0 || !errors.Is(reported[0], cachedsql.ErrHook) {
		t.Fatalf("hook failure reported as %v, want ErrHook", reported)
	}
}

func TestRefreshAfterCommit(t *testing.T) {
	db, _ := newDB(t)
	q := "SELECT name FROM items WHERE id = $1"
	var name string
	_ = db.Get(&name, q, 3)
	tx := db.MustBegin()
	tx.MustExec("UPDATE items SET name = 'gouda' WHERE id = 3")
	tx.RefreshAfterCommit(db.RefreshQuery(q, 3))
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// The refresh runs in the background; once done, the read is a hit.
	deadline := time.Now().Add(10 * time.Second)
	for created(db) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the refresh never ran")
		}
		time.Sleep(time.Millisecond)
	}
	before := created(db)
	if err := db.Get(&name, q, 3); err != nil || name != "gouda" {
		t.Fatalf("after the refresh = %q, %v", name, err)
	}
	if created(db) != before {
		t.Fatal("the read after the refresh went to the database")
	}
}

func TestErrNoRows(t *testing.T) {
	db, _ := newDB(t)
	for i := range 2 { // the miss and the hit
		var it item
		if err := db.Get(&it, "SELECT id, name, price FROM items WHERE id = $1", 99); !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("call %d: Get of no row = %v, want sql.ErrNoRows", i, err)
		}
		var n int
		if err := db.QueryRow("SELECT id FROM items WHERE id = $1", 99).Scan(&n); !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("call %d: QueryRow of no row = %v", i, err)
		}
	}
}

func TestNotCached(t *testing.T) {
	db, dsn := newDB(t)
	tests := []struct {
		name, query string
	}{
		{"volatile function", "SELECT name FROM items WHERE id = 1 AND now() > '2000-01-01'"},
		{"for update", "SELECT name FROM items WHERE id = 1 FOR UPDATE"},
		{"random", "SELECT name FROM items WHERE random() >= 0 AND id = 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var a string
			if err := db.Get(&a, tc.query); err != nil {
				t.Fatal(err)
			}
			behindTheBack(t, dsn, "UPDATE items SET name = name || '!' WHERE id = 1")
			var b string
			if err := db.Get(&b, tc.query); err != nil || b == a {
				t.Fatalf("%s read twice gave %q then %q: it was cached", tc.name, a, b)
			}
		})
	}
}

func TestTooLargeIsNotCached(t *testing.T) {
	t.Run("objects", func(t *testing.T) { testTooLarge(t) })
	t.Run("serialized", func(t *testing.T) {
		// The too-large marker goes through the result encoding too.
		testTooLarge(t, cachedsql.WithBackend(memStore(t, memory.Options{Serialized: true})))
	})
}

func testTooLarge(t *testing.T, opts ...cachedsql.Option) {
	db, dsn := newDB(t, append(opts, cachedsql.WithMaxRows(2))...)
	q := "SELECT name FROM items ORDER BY id"
	var names []string
	if err := db.Select(&names, q); err != nil || len(names) != 3 {
		t.Fatalf("Select over the row limit = %v, %v; want all 3 rows", names, err)
	}
	behindTheBack(t, dsn, "UPDATE items SET name = 'z' WHERE id = 3")
	names = nil
	if err := db.Select(&names, q); err != nil || names[2] != "z" {
		t.Fatalf("second Select = %v, %v; a result over the limit must not be cached", names, err)
	}
	// The first read tried to cache the result and kept a marker that it
	// was too large; the second found the marker and ran the query at once,
	// without reading the result a second time to drop it again.
	if st := db.Region().Stats(); st.Created != 1 || st.Hits != 1 {
		t.Fatalf("Created %d, Hits %d after two reads of a result over the limit; want 1 and 1 (the marker)", st.Created, st.Hits)
	}
	// A write to the table drops the marker: the result, now within the
	// limit, is cached.
	db.MustExec("DELETE FROM items WHERE id = 3")
	for range 2 {
		names = nil
		if err := db.Select(&names, q); err != nil || len(names) != 2 {
			t.Fatalf("Select after the delete = %v, %v", names, err)
		}
	}
	behindTheBack(t, dsn, "UPDATE items SET name = 'behind' WHERE id = 1")
	names = nil
	if err := db.Select(&names, q); err != nil || names[0] != "apple" {
		t.Fatalf("Select = %v, %v; a result within the limit again must be cached", names, err)
	}
}

// A refresh of a result over the limit runs the query once: the marker
// it caches is all it has to do, with no rows for a caller to read again.
func TestRefreshOfTooLargeRunsOnce(t *testing.T) {
	ctx := context.Background()
	// runs() counts the executions of a query calling counted() once per
	// row of items (3 rows), a function the analyzer is told is safe.
	an := sqlanalysis.New(sqlanalysis.WithSafeFunctions("counted"))
	db, _ := newDB(t, cachedsql.WithMaxRows(2), cachedsql.WithAnalyzer(an))
	db.MustExec("CREATE TABLE counter (n int NOT NULL)")
	db.MustExec("INSERT INTO counter VALUES (0)")
	db.MustExec("CREATE FUNCTION counted() RETURNS int LANGUAGE sql VOLATILE AS 'UPDATE counter SET n = n + 1 RETURNING n'")
	runs := func() int {
		t.Helper()
		var n int
		if err := db.Inner().QueryRowContext(ctx, "SELECT n FROM counter").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n / 3
	}
	const q = "SELECT name, counted() FROM items"
	if err := db.RefreshQuery(q).Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if n := runs(); n != 1 {
		t.Fatalf("a refresh of a result over the row limit ran the query %d times; want 1", n)
	}
	// The marker is cached: a read runs the query once more, at once.
	var rows []struct {
		Name    string `db:"name"`
		Counted int    `db:"counted"`
	}
	if err := db.SelectContext(ctx, &rows, q); err != nil || len(rows) != 3 {
		t.Fatalf("Select = %d rows, %v", len(rows), err)
	}
	if n := runs(); n != 2 {
		t.Fatalf("%d runs after a refresh and a read; want 2", n)
	}
}

func TestContextOptions(t *testing.T) {
	db, dsn := newDB(t)
	ctx := context.Background()
	q := "SELECT name FROM items WHERE id = 1"
	var name string
	_ = db.GetContext(ctx, &name, q)
	behindTheBack(t, dsn, "UPDATE items SET name = 'skipped' WHERE id = 1")
	if _ = db.GetContext(cachedsql.SkipCache(ctx), &name, q); name != "skipped" {
		t.Fatalf("SkipCache read = %q", name)
	}
	if _ = db.GetContext(ctx, &name, q); name != "apple" {
		t.Fatalf("SkipCache filled the cache: %q", name)
	}
	if _ = db.GetContext(cachedsql.RefreshCache(ctx), &name, q); name != "skipped" {
		t.Fatalf("RefreshCache read = %q", name)
	}
	if _ = db.GetContext(ctx, &name, q); name != "skipped" {
		t.Fatalf("RefreshCache did not replace the cached result: %q", name)
	}
	// Tags the caller names.
	tagged := cachedsql.ContextWithTags(ctx, "item:2")
	q2 := "SELECT name FROM items WHERE id = 2"
	_ = db.GetContext(tagged, &name, q2)
	behindTheBack(t, dsn, "UPDATE items SET name = 'by tag' WHERE id = 2")
	if err := db.InvalidateTags(ctx, "item:2"); err != nil {
		t.Fatal(err)
	}
	if _ = db.GetContext(tagged, &name, q2); name != "by tag" {
		t.Fatalf("after InvalidateTags = %q", name)
	}
	// Tables and everything, by hand.
	behindTheBack(t, dsn, "UPDATE items SET name = 'by table' WHERE id = 1")
	if err := db.InvalidateTables(ctx, "public.items"); err != nil {
		t.Fatal(err)
	}
	if _ = db.GetContext(ctx, &name, q); name != "by table" {
		t.Fatalf("after InvalidateTables = %q", name)
	}
	behindTheBack(t, dsn, "UPDATE items SET name = 'by all' WHERE id = 1")
	if err := db.InvalidateAll(ctx); err != nil {
		t.Fatal(err)
	}
	if _ = db.GetContext(ctx, &name, q); name != "by all" {
		t.Fatalf("after InvalidateAll = %q", name)
	}
	if err := db.InvalidateTables(ctx, "not a table ("); err == nil {
		t.Fatal("InvalidateTables accepted a bad name")
	}
}

func TestOnlyOnRequest(t *testing.T) {
	db, dsn := newDB(t, cachedsql.OnlyOnRequest())
	ctx := context.Background()
	q := "SELECT name FROM items WHERE id = 1"
	var name string
	_ = db.GetContext(ctx, &name, q)
	behindTheBack(t, dsn, "UPDATE items SET name = 'fresh' WHERE id = 1")
	if _ = db.GetContext(ctx, &name, q); name != "fresh" {
		t.Fatal("OnlyOnRequest cached a read that did not ask")
	}
	_ = db.GetContext(cachedsql.UseCache(ctx), &name, q)
	behindTheBack(t, dsn, "UPDATE items SET name = 'later' WHERE id = 1")
	if _ = db.GetContext(cachedsql.UseCache(ctx), &name, q); name != "fresh" {
		t.Fatalf("UseCache read was not cached: %q", name)
	}
	// A refresh asks for the cache too: it replaces what UseCache reads.
	if err := db.RefreshQuery(q).Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _ = db.GetContext(cachedsql.UseCache(ctx), &name, q); name != "later" {
		t.Fatalf("UseCache read after RefreshQuery: %q, want later", name)
	}
}

func TestWriteThroughQueryInvalidates(t *testing.T) {
	db, _ := newDB(t)
	q := "SELECT count(*) FROM items"
	var n int
	_ = db.Get(&n, q)
	var id int
	if err := db.Get(&id, "INSERT INTO items VALUES (4, 'dates', NULL, NULL) RETURNING id"); err != nil || id != 4 {
		t.Fatalf("INSERT … RETURNING = %d, %v", id, err)
	}
	if err := db.Get(&n, q); err != nil || n != 4 {
		t.Fatalf("count after INSERT … RETURNING = %d, %v", n, err)
	}
	// A CTE that writes.
	if _, err := db.Exec("WITH d AS (DELETE FROM items WHERE id = 4 RETURNING *) SELECT count(*) FROM d"); err != nil {
		t.Fatal(err)
	}
	if err := db.Get(&n, q); err != nil || n != 3 {
		t.Fatalf("count after a writing CTE = %d, %v", n, err)
	}
}

func TestManualTransactionOnConn(t *testing.T) {
	db, _ := newDB(t)
	ctx := context.Background()
	q := "SELECT name FROM items WHERE id = 1"
	var name string
	_ = db.Get(&name, q)
	c, err := db.Connx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mustExec := func(s string) {
		t.Helper()
		if _, err := c.ExecContext(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	mustExec("BEGIN")
	mustExec("UPDATE items SET name = 'manual' WHERE id = 1")
	if err := c.GetContext(ctx, &name, q); err != nil || name != "manual" {
		t.Fatalf("read inside a BEGIN on the conn = %q, %v", name, err)
	}
	mustExec("COMMIT")
	if err := db.Get(&name, q); err != nil || name != "manual" {
		t.Fatalf("after COMMIT = %q, %v", name, err)
	}
}

func TestStampedeOneQuery(t *testing.T) {
	db, _ := newDB(t)
	db.SetMaxOpenConns(64)
	const n = 200
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var names []string
			if err := db.Select(&names, "SELECT name FROM items ORDER BY id"); err != nil || len(names) != 3 {
				t.Errorf("Select = %v, %v", names, err)
			}
		}()
	}
	wg.Wait()
	if c := created(db); c != 1 {
		t.Fatalf("%d database queries for %d concurrent identical reads, want 1", c, n)
	}
}

// A too-large marker holds only under the limits it was made under: a DB
// with larger limits on the same store makes and caches the result.
func TestTooLargeMarkerYieldsToLargerLimits(t *testing.T) {
	store := memStore(t, memory.Options{})
	small, dsn := newDB(t, cachedsql.WithBackend(store), cachedsql.WithMaxRows(2))
	large, err := cachedsql.Connect("pgx", dsn, cachedsql.WithBackend(store), cachedsql.WithMaxRows(10))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { large.Close() })
	const q = "SELECT name FROM items ORDER BY id"
	var names []string
	if err := small.Select(&names, q); err != nil || len(names) != 3 {
		t.Fatalf("Select on the small DB = %v, %v", names, err)
	}
	names = nil
	if err := large.Select(&names, q); err != nil || len(names) != 3 {
		t.Fatalf("Select on the large DB = %v, %v", names, err)
	}
	if c := created(large); c != 1 {
		t.Fatalf("the large DB made %d results; want 1, past the small DB's marker", c)
	}
	behindTheBack(t, dsn, "UPDATE items SET name = 'behind' WHERE id = 1")
	names = nil
	if err := large.Select(&names, q); err != nil || names[0] != "apple" {
		t.Fatalf("second Select on the large DB = %v, %v; want the cached result", names, err)
	}
}
