package cachedsql_test

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// A Rollback that races a Commit, found in an audit: database/sql lets
// one of them end the transaction and tells the other ErrTxDone at once,
// while the winning Commit is still under way. The losing Rollback ran
// the rollback hooks then, and the Commit, finding the hooks taken, ran
// none: a committed transaction ran its rollback hooks, before its
// commit was visible, and never its commit hooks.
func TestRollbackRacingCommitRunsNoHooks(t *testing.T) {
	db, _ := newDB(t)
	// A deferred trigger that sleeps makes the COMMIT take a while.
	db.MustExec(`CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN PERFORM pg_sleep(0.5); RETURN NULL; END $$`)
	db.MustExec(`CREATE CONSTRAINT TRIGGER slow AFTER UPDATE ON items
		DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit()`)
	tx := db.MustBegin()
	tx.MustExec("UPDATE items SET name = 'pear' WHERE id = 1")
	var committed, rolledBack atomic.Int64
	tx.AfterCommit(func(context.Context) { committed.Add(1) })
	tx.AfterRollback(func(context.Context) { rolledBack.Add(1) })
	done := make(chan error, 1)
	go func() { done <- tx.Commit() }()
	time.Sleep(150 * time.Millisecond) // the COMMIT is in the database
	if err := tx.Rollback(); !errors.Is(err, sql.ErrTxDone) {
		t.Fatalf("Rollback racing Commit = %v; want ErrTxDone", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if c, r := committed.Load(), rolledBack.Load(); c != 1 || r != 0 {
		t.Fatalf("after a Commit that won: commit hooks ran %d times, rollback hooks %d; want 1, 0", c, r)
	}
}
