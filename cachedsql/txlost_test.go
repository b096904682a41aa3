package cachedsql_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A transaction whose context ended is rolled back by database/sql itself:
// every later Commit or Rollback gets ErrTxDone. When two of them overlap
// (both counted before either looked at its error), each took the other
// for the winner and neither ran the rollback hooks, so WaitRefreshes,
// waiting for the outcome's hooks, waited for good.
func TestTxDoneToOverlappingCallsStillRunsHooks(t *testing.T) {
	db, _ := newDB(t)
	for i := range 200 {
		ctx, cancel := context.WithCancel(context.Background())
		tx, err := db.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var rolledBack atomic.Int64
		tx.AfterRollback(func(context.Context) { rolledBack.Add(1) })
		cancel()
		time.Sleep(time.Millisecond) // database/sql rolls it back itself
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Add(2)
		go func() { defer wg.Done(); <-start; _ = tx.Commit() }()
		go func() { defer wg.Done(); <-start; _ = tx.Rollback() }()
		close(start)
		wg.Wait()
		wctx, wcancel := context.WithTimeout(context.Background(), time.Second)
		err = tx.WaitRefreshes(wctx)
		wcancel()
		if n := rolledBack.Load(); n != 1 || err != nil {
			t.Fatalf("round %d: rollback hooks ran %d times, WaitRefreshes = %v; want 1, nil", i, n, err)
		}
	}
}
