package cachedsql_test

import (
	"context"
	"testing"
)

// A Tx begun on a session inside a transaction it began by text, found in
// an audit: PostgreSQL only warns at the second BEGIN, so the Tx is that
// same transaction, and its Commit commits the writes made before it. The
// text transaction's write set was dropped unfinished: those writes were
// never invalidated, and their tables stayed pending for good (in this
// process, and in every other while the marks were renewed).
func TestTxBegunInsideTextTransaction(t *testing.T) {
	db, _ := newDB(t)
	ctx := context.Background()
	if got := nameOf(t, db); got != "apple" { // cached
		t.Fatalf("first read = %q", got)
	}
	c := heldConn(t, db)
	execOn(t, c, "BEGIN")
	execOn(t, c, "UPDATE items SET name = 'pear' WHERE id = 1")
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE items SET name = 'plum' WHERE id = 2"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := nameOf(t, db); got != "pear" {
		t.Fatalf("read after the Tx committed the text transaction's write = %q; want pear", got)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	// Nothing the session wrote is still held by the process.
	if held := db.Tags().Held(); len(held) > 0 {
		t.Fatalf("tags %q still held after the transaction ended", held)
	}
}
