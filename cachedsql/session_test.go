package cachedsql_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/cachedsql"
)

// Sessions and the shared cache, found in an audit: a session that changed
// its state, or that a creation borrowed, must never fill the cache that
// every session (and process) reads.

const itemOne = "SELECT name FROM items WHERE id = 1"

func nameOf(t *testing.T, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) string {
	t.Helper()
	var name string
	if err := q.QueryRowContext(context.Background(), itemOne).Scan(&name); err != nil {
		t.Fatal(err)
	}
	return name
}

// heldConn holds a session of db until t ends (or the test closes it).
func heldConn(t *testing.T, db *cachedsql.DB) *sql.Conn {
	t.Helper()
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func execOn(t *testing.T, c *sql.Conn, stmt string) {
	t.Helper()
	if _, err := c.ExecContext(context.Background(), stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// A query the analyzer cannot see into (a function that may SET) taints
// its session, as the same call through Exec does: the session's next read
// runs on it and fills nothing.
func TestUnknownWriteQueryTaintsTheSession(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	db.MustExec(`CREATE SCHEMA other`)
	db.MustExec(`CREATE TABLE other.items (id int, name text)`)
	db.MustExec(`INSERT INTO other.items VALUES (1, 'other schema')`)
	db.MustExec(`CREATE FUNCTION switch_schema() RETURNS int LANGUAGE plpgsql AS $$
		BEGIN PERFORM set_config('search_path', 'other, public', false); RETURN 1; END $$`)
	c := heldConn(t, db)
	var one int
	if err := c.QueryRowContext(ctx, "SELECT switch_schema()").Scan(&one); err != nil {
		t.Fatal(err)
	}
	if got := nameOf(t, c); got != "other schema" {
		t.Fatalf("the session's own read = %q; want its search_path's table", got)
	}
	if got := nameOf(t, db); got != "apple" {
		t.Fatalf("another session reads %q; the tainted session filled the shared cache", got)
	}
}

// A session that made a temporary table is not pooled again when it ends:
// a later fill cannot read the temporary table in place of the real one.
func TestTaintedSessionIsNotPooled(t *testing.T) {
	store := memStore(t, memory.Options{})
	db, dsn := newDB(t, cachedsql.WithBackend(store))
	db.Inner().SetMaxOpenConns(1) // the next fill gets whatever connection the session left
	c := heldConn(t, db)
	execOn(t, c, "CREATE TEMP TABLE items (id int, name text)")
	execOn(t, c, "INSERT INTO items VALUES (1, 'temporary')")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got := nameOf(t, db); got != "apple" {
		t.Fatalf("read after the session ended = %q; want the real table's apple", got)
	}
	other, err := cachedsql.Connect("pgx", dsn, cachedsql.WithBackend(store))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if got := nameOf(t, other); got != "apple" {
		t.Fatalf("a second DB on the store reads %q", got)
	}
}

// A transaction begun by text and never ended does not reach the pool's
// next user: the next autocommit write commits.
func TestAbandonedTextTransactionIsNotPooled(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	db.SetMaxOpenConns(1)
	c := heldConn(t, db)
	execOn(t, c, "BEGIN")
	execOn(t, c, "UPDATE items SET name = 'abandoned' WHERE id = 1")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	db.MustExec("INSERT INTO items (id, name) VALUES (4, 'later')")
	var n int
	if err := db.Inner().QueryRowContext(ctx, "SELECT count(*) FROM items WHERE id = 4").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatal("an autocommit INSERT is not visible to other sessions: it ran inside the abandoned transaction")
	}
	if held := db.Tags().Held(); len(held) != 0 {
		t.Fatalf("tags still held after the abandoned transaction's session ended: %v", held)
	}
	if got := nameOf(t, db); got != "apple" {
		t.Fatalf("read = %q; the abandoned update must not be visible", got)
	}
}

// heldRunner queues tasks until flushed.
type heldRunner struct {
	mu    sync.Mutex
	tasks []func() error
}

func (h *heldRunner) Run(task func() error) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tasks = append(h.tasks, task)
	return true
}

func (h *heldRunner) flush() {
	h.mu.Lock()
	tasks := h.tasks
	h.tasks = nil
	h.mu.Unlock()
	for _, task := range tasks {
		_ = task()
	}
}

// A refresh handed to the async runner by a read on a held session runs
// after that read returned; by then the session may be inside a
// transaction. The refresh must not run there and cache rows that are
// never committed.
func TestAsyncRefreshDoesNotBorrowTheCallersSession(t *testing.T) {
	ctx := context.Background()
	runner := &heldRunner{}
	db, _ := newDB(t, cachedsql.WithRunner(runner))
	c := heldConn(t, db)
	if err := c.PingContext(ctx); err != nil { // the session now holds an inner connection
		t.Fatal(err)
	}
	nameOf(t, c)
	if err := db.Region().Invalidate(ctx, false); err != nil { // soft: the result is stale
		t.Fatal(err)
	}
	if got := nameOf(t, c); got != "apple" {
		t.Fatalf("stale read = %q", got)
	}
	execOn(t, c, "BEGIN")
	execOn(t, c, "UPDATE items SET name = 'never committed' WHERE id = 1")
	runner.flush() // the refresh runs now
	execOn(t, c, "ROLLBACK")
	if got := nameOf(t, db); got != "apple" {
		t.Fatalf("read after the rollback = %q; the refresh cached uncommitted rows", got)
	}
}

// COMMIT AND CHAIN ends a text transaction and begins another: the
// second one's writes are invalidated when it commits, not before.
func TestCommitAndChain(t *testing.T) {
	db, _ := newDB(t)
	c := heldConn(t, db)
	execOn(t, c, "BEGIN")
	execOn(t, c, "UPDATE items SET name = 'first' WHERE id = 1")
	execOn(t, c, "COMMIT AND CHAIN")
	execOn(t, c, "UPDATE items SET name = 'second' WHERE id = 1")
	// Another session sees the first commit, and may cache it.
	if got := nameOf(t, db); got != "first" {
		t.Fatalf("read between the two commits = %q; want first", got)
	}
	execOn(t, c, "COMMIT")
	if got := nameOf(t, db); got != "second" {
		t.Fatalf("read after the chained transaction committed = %q; want second", got)
	}
}

// BEGIN and COMMIT sent through Query are tracked as through Exec.
func TestTransactionVerbsThroughQuery(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	c := heldConn(t, db)
	query := func(stmt string) {
		t.Helper()
		rows, err := c.QueryContext(ctx, stmt)
		if err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
		if rows.Next() {
			t.Fatalf("%s gave a row", stmt)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	query("BEGIN")
	execOn(t, c, "UPDATE items SET name = 'uncommitted' WHERE id = 1")
	if got := nameOf(t, db); got != "apple" {
		t.Fatalf("read during the transaction = %q", got)
	}
	query("COMMIT")
	if got := nameOf(t, db); got != "uncommitted" {
		t.Fatalf("read after COMMIT = %q; want the committed write", got)
	}
}

// COMMIT or ROLLBACK sent as text inside a Tx is refused: the Tx would
// end behind the Tx's back.
func TestTextCommitInsideTxIsRefused(t *testing.T) {
	db, _ := newDB(t)
	for _, stmt := range []string{"COMMIT", "ROLLBACK", "commit and chain", "UPDATE items SET name = 'x' WHERE id = 2; COMMIT", "PREPARE TRANSACTION 'in-tx'"} {
		tx, err := db.Beginx()
		if err != nil {
			t.Fatal(err)
		}
		tx.MustExec("UPDATE items SET name = 'in tx' WHERE id = 1")
		if _, err := tx.Exec(stmt); !errors.Is(err, cachedsql.ErrTxControl) {
			t.Fatalf("%s inside a Tx = %v; want ErrTxControl", stmt, err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		if got := nameOf(t, db); got != "apple" {
			t.Fatalf("after %s and Rollback, read = %q; want the write rolled back", stmt, got)
		}
	}
}

// Rows read to the end go back to the pool without Close, as with the
// driver beneath: database/sql closes them when the driver says no result
// set follows (found in an audit: the caching driver always said one
// might, and a program that relied on the close held its connection).
func TestRowsReadToTheEndReleaseTheConnection(t *testing.T) {
	db, _ := newDB(t)
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		"SELECT now()",                        // not cacheable: streamed from the database
		"SELECT name FROM items WHERE id = 1", // cached
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var one int
		err = db.QueryRowContext(ctx, "SELECT 1").Scan(&one)
		cancel()
		if err != nil {
			t.Fatalf("after reading %q to the end without Close, the next query: %v", q, err)
		}
	}
}
