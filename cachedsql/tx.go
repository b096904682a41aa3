package cachedsql

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/jmoiron/sqlx"
)

// Tx is a drop-in replacement for *sqlx.Tx: it embeds one, so every method
// is there. Reads inside a transaction bypass the cache; the tables it
// writes are marked pending at the first write and invalidated when it
// commits, before Commit returns. It adds hooks that run after the
// transaction ends.
type Tx struct {
	*sqlx.Tx
	e *engine
	h *hooks // shared with the Tx's Unsafe copies
}

// hooks are a transaction's hooks and whether they have run.
type hooks struct {
	mu            sync.Mutex
	afterCommit   []func(context.Context) // guarded by mu
	afterRollback []func(context.Context) // guarded by mu
	refreshes     []Refresher             // guarded by mu
	done          bool                    // guarded by mu
}

func newTx(tx *sqlx.Tx, e *engine) *Tx { return &Tx{Tx: tx, e: e, h: &hooks{}} }

// AfterCommit registers f to run after the transaction commits (once the
// invalidation of what it wrote is done), in registration order, on the
// goroutine that calls Commit. A failing hook (a panic) is reported to the
// DB's error handler; it never turns a committed transaction into an error
// nor stops the hooks after it.
func (tx *Tx) AfterCommit(f func(ctx context.Context)) {
	tx.h.mu.Lock()
	defer tx.h.mu.Unlock()
	tx.h.afterCommit = append(tx.h.afterCommit, f)
}

// AfterRollback registers f to run after the transaction rolls back
// (including a Commit that failed).
func (tx *Tx) AfterRollback(f func(ctx context.Context)) {
	tx.h.mu.Lock()
	defer tx.h.mu.Unlock()
	tx.h.afterRollback = append(tx.h.afterRollback, f)
}

// RefreshAfterCommit re-creates cached results after the transaction
// commits, in the background on the region's async runner, so that the
// next reader finds them fresh and the writer does not wait (dogpile's
// "asynchronous data updates with ORM events" recipe). Each refresh reads
// its tag versions before it queries, so it can never store rows from
// before a write as current. A refresh the runner cannot take, or that
// fails, is reported, not retried: the next reader makes the result.
func (tx *Tx) RefreshAfterCommit(r ...Refresher) {
	tx.h.mu.Lock()
	defer tx.h.mu.Unlock()
	tx.h.refreshes = append(tx.h.refreshes, r...)
}

// Commit commits the transaction, invalidates what it wrote, and runs the
// commit hooks, then queues the refreshes. If the commit fails, the
// rollback hooks run instead and the error is returned.
func (tx *Tx) Commit() error {
	if err := tx.Tx.Commit(); err != nil {
		tx.run(false)
		return err
	}
	tx.run(true)
	return nil
}

// Rollback rolls the transaction back and runs the rollback hooks.
func (tx *Tx) Rollback() error {
	err := tx.Tx.Rollback()
	tx.run(false)
	return err
}

// Unsafe returns a Tx whose struct scans ignore columns the struct lacks;
// it is the same transaction, with the same hooks.
func (tx *Tx) Unsafe() *Tx { return &Tx{Tx: tx.Tx.Unsafe(), e: tx.e, h: tx.h} }

// run runs the hooks of the outcome, once.
func (tx *Tx) run(committed bool) {
	tx.h.mu.Lock()
	if tx.h.done {
		tx.h.mu.Unlock()
		return
	}
	tx.h.done = true
	fns := tx.h.afterRollback
	if committed {
		fns = tx.h.afterCommit
	}
	refreshes := tx.h.refreshes
	tx.h.mu.Unlock()
	ctx := context.Background()
	for i, f := range fns {
		tx.e.report(safeHook(ctx, f, committed, i))
	}
	if !committed {
		return
	}
	for _, r := range refreshes {
		queued := tx.e.runner.Run(func() error {
			if err := r.Refresh(ctx); err != nil {
				err = fmt.Errorf("%w: refresh after commit: %w", ErrHook, err)
				tx.e.report(err)
				return err
			}
			return nil
		})
		if !queued {
			tx.e.report(fmt.Errorf("%w: refresh after commit: the runner's queue is full or closed; the next read makes the result", ErrHook))
		}
	}
}

func safeHook(ctx context.Context, f func(context.Context), committed bool, i int) (err error) {
	defer func() {
		if p := recover(); p != nil {
			kind := "rollback"
			if committed {
				kind = "commit"
			}
			err = fmt.Errorf("%w: %s hook %d panicked: %v\n%s", ErrHook, kind, i+1, p, debug.Stack())
		}
	}()
	f(ctx)
	return nil
}
