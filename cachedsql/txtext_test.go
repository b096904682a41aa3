package cachedsql_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/cachedsql"
)

// Transactions begun and ended by text inside strings of several
// statements, and two-phase commits, found in an audit: the tables a
// transaction writes must be invalidated when its writes become visible,
// not before and never not at all.

// "BEGIN; UPDATE …" leaves a transaction open: its write is invalidated at
// its COMMIT, not when the string ran, and the session's own reads see it
// (without filling the cache with uncommitted rows).
func TestBeginAndWriteInOneString(t *testing.T) {
	db, _ := newDB(t)
	if got := nameOf(t, db); got != "apple" { // cached
		t.Fatalf("first read = %q", got)
	}
	c := heldConn(t, db)
	execOn(t, c, "BEGIN; UPDATE items SET name = 'pear' WHERE id = 1")
	if got := nameOf(t, c); got != "pear" {
		t.Fatalf("the session's read inside its transaction = %q; want its own write", got)
	}
	// Another session reads the committed row, and must not keep it past
	// the commit.
	if got := nameOf(t, db); got != "apple" {
		t.Fatalf("another session's read during the transaction = %q; want apple", got)
	}
	execOn(t, c, "COMMIT")
	if got := nameOf(t, db); got != "pear" {
		t.Fatalf("read after COMMIT = %q; want pear", got)
	}
}

// "UPDATE …; COMMIT" inside a text transaction ends it: its writes are
// invalidated then, and the session's later writes are autocommits,
// invalidated at once.
func TestWriteAndCommitInOneString(t *testing.T) {
	db, _ := newDB(t)
	if got := nameOf(t, db); got != "apple" { // cached
		t.Fatalf("first read = %q", got)
	}
	c := heldConn(t, db)
	execOn(t, c, "BEGIN")
	execOn(t, c, "UPDATE items SET name = 'pear' WHERE id = 1; COMMIT")
	if got := nameOf(t, db); got != "pear" {
		t.Fatalf("read after the string committed = %q; want pear", got)
	}
	execOn(t, c, "UPDATE items SET name = 'plum' WHERE id = 1")
	if got := nameOf(t, db); got != "plum" {
		t.Fatalf("read after an autocommit write = %q; want plum", got)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got := nameOf(t, db); got != "plum" {
		t.Fatalf("read after the session went back = %q; want plum", got)
	}
}

// A string that commits one transaction and begins another, writing in
// both: each write is invalidated by the commit that makes it visible.
func TestCommitAndBeginInOneString(t *testing.T) {
	db, _ := newDB(t)
	c := heldConn(t, db)
	execOn(t, c, "BEGIN")
	execOn(t, c, "UPDATE items SET name = 'pear' WHERE id = 1; COMMIT; BEGIN; UPDATE items SET name = 'plum' WHERE id = 1")
	if got := nameOf(t, db); got != "pear" {
		t.Fatalf("read between the two commits = %q; want pear", got)
	}
	execOn(t, c, "COMMIT")
	if got := nameOf(t, db); got != "plum" {
		t.Fatalf("read after the second commit = %q; want plum", got)
	}
}

// A string that fails part way leaves the session's state unknown: it is
// taken to be in a transaction (its reads run on it, and see an aborted
// transaction's error), its writes invalidated.
func TestFailedStringWithTransactionVerbs(t *testing.T) {
	db, _ := newDB(t)
	if got := nameOf(t, db); got != "apple" { // cached
		t.Fatalf("first read = %q", got)
	}
	c := heldConn(t, db)
	if _, err := c.ExecContext(context.Background(), "BEGIN; UPDATE items SET name = 'pear' WHERE id = 1; SELECT 1/0"); err == nil {
		t.Fatal("a string dividing by zero succeeded")
	}
	// The session's transaction is aborted: its reads fail until it
	// ends, and the cache must not hide that.
	var name string
	if err := c.QueryRowContext(context.Background(), itemOne).Scan(&name); err == nil || !strings.Contains(err.Error(), "aborted") {
		t.Fatalf("read in the aborted transaction = %q, %v; want PostgreSQL's error", name, err)
	}
	execOn(t, c, "ROLLBACK")
	if got := nameOf(t, db); got != "apple" {
		t.Fatalf("read after the failed transaction's ROLLBACK = %q; want apple", got)
	}
	if _, err := c.ExecContext(context.Background(), "UPDATE items SET name = 'plum' WHERE id = 1; BEGIN; SELECT 1/0"); err == nil {
		t.Fatal("a string dividing by zero succeeded")
	}
	execOn(t, c, "ROLLBACK")
	if got := nameOf(t, db); got != "apple" {
		t.Fatalf("read after the failed string = %q; want apple (the implicit transaction failed)", got)
	}
}

// PREPARE TRANSACTION ends the session's transaction but makes nothing
// visible: its writes are invalidated at COMMIT PREPARED, sent from any
// session, and released without a bump at ROLLBACK PREPARED.
func TestPreparedTransaction(t *testing.T) {
	for _, tc := range []struct {
		end, want string
	}{{"COMMIT PREPARED", "pear"}, {"ROLLBACK PREPARED", "apple"}} {
		t.Run(tc.end, func(t *testing.T) {
			db, _ := newDB(t)
			if got := nameOf(t, db); got != "apple" { // cached
				t.Fatalf("first read = %q", got)
			}
			c := heldConn(t, db)
			execOn(t, c, "BEGIN")
			execOn(t, c, "UPDATE items SET name = 'pear' WHERE id = 1")
			execOn(t, c, "PREPARE TRANSACTION 'dogpile-test'")
			t.Cleanup(func() { db.Exec("ROLLBACK PREPARED 'dogpile-test'") })
			// The session is out of the transaction: it goes back to the
			// pool, and a read between PREPARE and the end sees the old
			// row without keeping it.
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if got := nameOf(t, db); got != "apple" {
				t.Fatalf("read while prepared = %q; want apple", got)
			}
			db.MustExec(tc.end + " 'dogpile-test'")
			if got := nameOf(t, db); got != tc.want {
				t.Fatalf("read after %s = %q; want %q", tc.end, got, tc.want)
			}
		})
	}
}

// COMMIT PREPARED of a transaction this DB did not prepare (another
// process did) invalidates everything: no one here knows what it wrote.
func TestCommitPreparedFromAnotherProcess(t *testing.T) {
	db, dsn := newDB(t)
	if got := nameOf(t, db); got != "apple" { // cached
		t.Fatalf("first read = %q", got)
	}
	other := openPlain(t, dsn)
	tx, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{"UPDATE items SET name = 'pear' WHERE id = 1", "PREPARE TRANSACTION 'dogpile-other'"} {
		if _, err := tx.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	_ = tx.Rollback() // the session's transaction is already gone
	db.MustExec("COMMIT PREPARED 'dogpile-other'")
	if got := nameOf(t, db); got != "pear" {
		t.Fatalf("read after COMMIT PREPARED of another process's transaction = %q; want pear", got)
	}
}

// A prepared transaction whose end never reaches the DB (another process
// committed it) does not keep its tables pending for good: past the hold
// its write set is committed, and the tables are cached again.
func TestPreparedTransactionHoldIsBounded(t *testing.T) {
	db, dsn := newDB(t)
	cachedsql.SetPreparedHold(db, 200*time.Millisecond)
	c := heldConn(t, db)
	execOn(t, c, "BEGIN")
	execOn(t, c, "UPDATE items SET name = 'pear' WHERE id = 1")
	execOn(t, c, "PREPARE TRANSACTION 'dogpile-held'")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if held := db.Tags().Held(); len(held) == 0 {
		t.Fatal("no tag held pending while the transaction is prepared")
	}
	// Ended behind the DB's back, as by another process.
	if _, err := openPlain(t, dsn).Exec("COMMIT PREPARED 'dogpile-held'"); err != nil {
		t.Fatal(err)
	}
	if got := nameOf(t, db); got != "pear" { // pending: read from the database
		t.Fatalf("read while held = %q; want pear", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(db.Tags().Held()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("tags still held pending after the hold: %v", db.Tags().Held())
		}
		time.Sleep(10 * time.Millisecond)
	}
	nameOf(t, db) // fills
	hits := db.Region().Stats().Hits
	if got := nameOf(t, db); got != "pear" || db.Region().Stats().Hits != hits+1 {
		t.Fatalf("read after the hold = %q, hits %d → %d; want pear from the cache", got, hits, db.Region().Stats().Hits)
	}
}

// openPlain opens dsn with no cache in between, as another process would.
func openPlain(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// A SET among writes in one string taints the session as a SET alone
// does: the session's reads run on it and see its search_path.
func TestSetAmongWritesTaintsTheSession(t *testing.T) {
	db, _ := newDB(t)
	db.MustExec(`CREATE SCHEMA other`)
	db.MustExec(`CREATE TABLE other.items (id int, name text)`)
	db.MustExec(`INSERT INTO other.items VALUES (1, 'other schema')`)
	if got := nameOf(t, db); got != "apple" { // cached
		t.Fatalf("first read = %q", got)
	}
	c := heldConn(t, db)
	execOn(t, c, "UPDATE items SET price = 2 WHERE id = 2; SET search_path = other, public")
	if got := nameOf(t, c); got != "other schema" {
		t.Fatalf("the session's own read = %q; want its search_path's table", got)
	}
	if got := nameOf(t, db); got != "apple" {
		t.Fatalf("another session reads %q; the tainted session filled the shared cache", got)
	}
}
