package cachedsql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/jmoiron/sqlx"
	"github.com/jmoiron/sqlx/reflectx"
)

// Tx is a drop-in replacement for *sqlx.Tx, with its shape — an embedded
// *sql.Tx, an exported Mapper — and every one of its methods. Reads inside
// a transaction bypass the cache; the tables it writes are marked pending at
// the first write and invalidated when it commits, before Commit returns. It
// adds hooks that run after the transaction ends.
type Tx struct {
	*sql.Tx
	// Mapper maps struct fields to columns, as sqlx.Tx's.
	Mapper *reflectx.Mapper

	x *sqlx.Tx // sqlx's view of the same transaction
	e *engine
	h *hooks // shared with the Tx's Unsafe copies
}

// hooks are a transaction's hooks and whether they have run.
type hooks struct {
	mu            sync.Mutex
	afterCommit   []func(context.Context) // guarded by mu
	afterRollback []func(context.Context) // guarded by mu
	refreshes     []Refresher             // guarded by mu
	ending        bool                    // Commit or Rollback was called; guarded by mu
	calling       int                     // how many Commit or Rollback calls are under way; guarded by mu
	done          bool                    // the hooks of the outcome were taken; guarded by mu
	committed     bool                    // the outcome, once done; guarded by mu
	ended         chan struct{}           // closed once the outcome's hooks ran and its refreshes are queued
	refreshing    int                     // refreshes queued and not done; guarded by mu
	idle          chan struct{}           // closed when refreshing drops to 0; guarded by mu
}

func newTx(tx *sqlx.Tx, e *engine) *Tx {
	return &Tx{Tx: tx.Tx, Mapper: tx.Mapper, x: tx, e: e, h: &hooks{ended: make(chan struct{})}}
}

// sx returns sqlx's view of the transaction, with the Tx's mapper.
func (tx *Tx) sx() *sqlx.Tx {
	if tx.x.Mapper == tx.Mapper {
		return tx.x
	}
	x := *tx.x
	x.Mapper = tx.Mapper
	return &x
}

// AfterCommit registers f to run after the transaction commits (once the
// invalidation of what it wrote is done), in registration order, on the
// goroutine that calls Commit. A failing hook (a panic) is reported to the
// DB's error handler; it never turns a committed transaction into an error
// nor stops the hooks after it. Registered after the transaction
// committed, f runs at once, on the caller's goroutine; after it rolled
// back, never.
func (tx *Tx) AfterCommit(f func(ctx context.Context)) {
	if tx.h.register(func(h *hooks) { h.afterCommit = append(h.afterCommit, f) }, true) {
		tx.e.report(safeHook(context.Background(), f, true, 0))
	}
}

// AfterRollback registers f to run after the transaction rolls back
// (including a Commit that failed). Registered after the transaction
// rolled back, f runs at once, on the caller's goroutine; after it
// committed, never.
func (tx *Tx) AfterRollback(f func(ctx context.Context)) {
	if tx.h.register(func(h *hooks) { h.afterRollback = append(h.afterRollback, f) }, false) {
		tx.e.report(safeHook(context.Background(), f, false, 0))
	}
}

// register adds a hook with add while the transaction's hooks have not
// been taken, and otherwise reports whether the transaction ended with
// the outcome the hook is for (committed), so that the caller runs it now.
func (h *hooks) register(add func(*hooks), committed bool) (runNow bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.done {
		add(h)
		return false
	}
	return h.committed == committed
}

// RefreshAfterCommit re-creates cached results after the transaction
// commits, in the background on the region's async runner, so that the
// next reader finds them fresh and the writer does not wait (dogpile's
// "asynchronous data updates with ORM events" recipe). Each refresh reads
// its tag versions before it queries, so it can never store rows from
// before a write as current. A refresh the runner cannot take, or that
// fails, is reported, not retried: the next reader makes the result.
//
// Registered after the transaction committed, the refreshes are queued at
// once; after it rolled back, never.
func (tx *Tx) RefreshAfterCommit(r ...Refresher) {
	if tx.h.register(func(h *hooks) { h.refreshes = append(h.refreshes, r...) }, true) {
		tx.queueRefreshes(context.Background(), r)
	}
}

// WaitRefreshes waits until the refreshes queued by the commit (see
// [Tx.RefreshAfterCommit]) are done, or ctx ends. Called while Commit is
// still running on another goroutine, it waits for Commit to queue them
// first; called before Commit or Rollback, it returns at once. Programs
// rarely need it (the point of the refreshes is that nobody waits for
// them); tests and tools that must see their effect do.
func (tx *Tx) WaitRefreshes(ctx context.Context) error {
	tx.h.mu.Lock()
	ending := tx.h.ending
	tx.h.mu.Unlock()
	if !ending {
		return nil
	}
	select {
	case <-tx.h.ended:
	case <-ctx.Done():
		return ctx.Err()
	}
	tx.h.mu.Lock()
	idle := tx.h.idle
	tx.h.mu.Unlock()
	if idle == nil {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Commit commits the transaction, invalidates what it wrote, and runs the
// commit hooks, then queues the refreshes. If the commit fails, the
// rollback hooks run instead and the error is returned.
func (tx *Tx) Commit() error {
	tx.h.end()
	if err := tx.Tx.Commit(); err != nil {
		if !tx.h.leaveTo(err) {
			tx.run(false)
		}
		return err
	}
	tx.h.leaveTo(nil)
	tx.run(true)
	return nil
}

// Rollback rolls the transaction back and runs the rollback hooks.
func (tx *Tx) Rollback() error {
	tx.h.end()
	err := tx.Tx.Rollback()
	if !tx.h.leaveTo(err) {
		tx.run(false)
	}
	return err
}

// Unsafe returns a Tx whose struct scans ignore columns the struct lacks;
// it is the same transaction, with the same hooks.
func (tx *Tx) Unsafe() *Tx {
	return &Tx{Tx: tx.Tx, Mapper: tx.Mapper, x: tx.sx().Unsafe(), e: tx.e, h: tx.h}
}

// DriverName returns the driver name of the DB the transaction began on.
func (tx *Tx) DriverName() string { return tx.x.DriverName() }

// Rebind turns a QUESTION query into the driver's bind type.
func (tx *Tx) Rebind(query string) string { return tx.x.Rebind(query) }

// BindNamed binds a named query to the driver's bind type.
func (tx *Tx) BindNamed(query string, arg any) (string, []any, error) {
	return tx.sx().BindNamed(query, arg)
}

// Get scans the single row of a query into dest.
func (tx *Tx) Get(dest any, query string, args ...any) error {
	return tx.sx().Get(dest, query, args...)
}

// GetContext is Get with a context.
func (tx *Tx) GetContext(ctx context.Context, dest any, query string, args ...any) error {
	return tx.sx().GetContext(ctx, dest, query, args...)
}

// Select scans every row of a query into dest, a slice.
func (tx *Tx) Select(dest any, query string, args ...any) error {
	return tx.sx().Select(dest, query, args...)
}

// SelectContext is Select with a context.
func (tx *Tx) SelectContext(ctx context.Context, dest any, query string, args ...any) error {
	return tx.sx().SelectContext(ctx, dest, query, args...)
}

// Queryx runs a query and returns *sqlx.Rows.
func (tx *Tx) Queryx(query string, args ...any) (*Rows, error) { return tx.sx().Queryx(query, args...) }

// QueryxContext is Queryx with a context.
func (tx *Tx) QueryxContext(ctx context.Context, query string, args ...any) (*Rows, error) {
	return tx.sx().QueryxContext(ctx, query, args...)
}

// QueryRowx runs a query that returns at most one row.
func (tx *Tx) QueryRowx(query string, args ...any) *Row { return tx.sx().QueryRowx(query, args...) }

// QueryRowxContext is QueryRowx with a context.
func (tx *Tx) QueryRowxContext(ctx context.Context, query string, args ...any) *Row {
	return tx.sx().QueryRowxContext(ctx, query, args...)
}

// MustExec runs a statement and panics on error.
func (tx *Tx) MustExec(query string, args ...any) sql.Result { return tx.sx().MustExec(query, args...) }

// MustExecContext is MustExec with a context.
func (tx *Tx) MustExecContext(ctx context.Context, query string, args ...any) sql.Result {
	return tx.sx().MustExecContext(ctx, query, args...)
}

// NamedExec runs a named statement.
func (tx *Tx) NamedExec(query string, arg any) (sql.Result, error) {
	return tx.sx().NamedExec(query, arg)
}

// NamedExecContext is NamedExec with a context.
func (tx *Tx) NamedExecContext(ctx context.Context, query string, arg any) (sql.Result, error) {
	return tx.sx().NamedExecContext(ctx, query, arg)
}

// NamedQuery runs a named query.
func (tx *Tx) NamedQuery(query string, arg any) (*Rows, error) { return tx.sx().NamedQuery(query, arg) }

// Preparex prepares a statement in the transaction.
func (tx *Tx) Preparex(query string) (*Stmt, error) { return tx.sx().Preparex(query) }

// PreparexContext is Preparex with a context.
func (tx *Tx) PreparexContext(ctx context.Context, query string) (*Stmt, error) {
	return tx.sx().PreparexContext(ctx, query)
}

// PrepareNamed prepares a named statement in the transaction.
func (tx *Tx) PrepareNamed(query string) (*NamedStmt, error) { return tx.sx().PrepareNamed(query) }

// PrepareNamedContext is PrepareNamed with a context.
func (tx *Tx) PrepareNamedContext(ctx context.Context, query string) (*NamedStmt, error) {
	return tx.sx().PrepareNamedContext(ctx, query)
}

// Stmtx returns a transaction-specific statement from stmt (a *sql.Stmt,
// *sqlx.Stmt or their pointers' values), as sqlx's.
func (tx *Tx) Stmtx(stmt any) *Stmt { return tx.sx().Stmtx(stmt) }

// StmtxContext is Stmtx with a context.
func (tx *Tx) StmtxContext(ctx context.Context, stmt any) *Stmt {
	return tx.sx().StmtxContext(ctx, stmt)
}

// NamedStmt returns a transaction-specific named statement from stmt.
func (tx *Tx) NamedStmt(stmt *NamedStmt) *NamedStmt { return tx.sx().NamedStmt(stmt) }

// NamedStmtContext is NamedStmt with a context.
func (tx *Tx) NamedStmtContext(ctx context.Context, stmt *NamedStmt) *NamedStmt {
	return tx.sx().NamedStmtContext(ctx, stmt)
}

// end notes that Commit or Rollback was called (see WaitRefreshes), and
// that the call is under way until leaveTo.
func (h *hooks) end() {
	h.mu.Lock()
	h.ending = true
	h.calling++
	h.mu.Unlock()
}

// leaveTo ends a Commit or Rollback call that got err, and reports whether
// it leaves the outcome's hooks to another call still under way.
// database/sql tells a call that lost the race to end the transaction
// ErrTxDone at once, while the winner may still be committing: the winner
// runs the hooks once it knows the outcome. But ErrTxDone also means that
// database/sql rolled the transaction back itself (its context ended), and
// then every call gets it: counting the calls made (rather than those
// still under way) had two overlapping calls each leave the hooks to the
// other, so that none ran them and WaitRefreshes waited for good. The last
// call to finish never leaves them: it runs the rollback hooks unless a
// winner ran the outcome's already (run runs once).
func (h *hooks) leaveTo(err error) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calling--
	return errors.Is(err, sql.ErrTxDone) && h.calling > 0
}

// run runs the hooks of the outcome, once.
func (tx *Tx) run(committed bool) {
	tx.h.mu.Lock()
	if tx.h.done {
		tx.h.mu.Unlock()
		return
	}
	tx.h.done, tx.h.committed = true, committed
	fns := tx.h.afterRollback
	if committed {
		fns = tx.h.afterCommit
	}
	refreshes := tx.h.refreshes
	tx.h.mu.Unlock()
	defer close(tx.h.ended)
	ctx := context.Background()
	for i, f := range fns {
		tx.e.report(safeHook(ctx, f, committed, i))
	}
	if committed {
		tx.queueRefreshes(ctx, refreshes)
	}
}

// refreshStarted and refreshDone count the refreshes in flight, for
// WaitRefreshes.
func (h *hooks) refreshStarted() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.refreshing == 0 {
		h.idle = make(chan struct{})
	}
	h.refreshing++
}

func (h *hooks) refreshDone() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.refreshing--
	if h.refreshing == 0 {
		close(h.idle)
	}
}

// queueRefreshes hands refreshes to the runner, counted in flight.
func (tx *Tx) queueRefreshes(ctx context.Context, refreshes []Refresher) {
	for _, r := range refreshes {
		tx.h.refreshStarted()
		queued := tx.e.runner.Run(func() error {
			defer tx.h.refreshDone()
			if err := safeRefresh(ctx, r); err != nil {
				err = fmt.Errorf("%w: refresh after commit: %w", ErrHook, err)
				tx.e.report(err)
				return err
			}
			return nil
		})
		if !queued {
			tx.h.refreshDone()
			tx.e.report(fmt.Errorf("%w: refresh after commit: the runner's queue is full or closed; the next read makes the result", ErrHook))
		}
	}
}

// safeRefresh runs r, its panic turned into an error: the runner (region's
// pool) would recover it without a word to the error handler, and a
// runner of the program's own that does not recover would end the
// process.
func safeRefresh(ctx context.Context, r Refresher) error {
	return unpanicked(func() error { return r.Refresh(ctx) })
}

func safeHook(ctx context.Context, f func(context.Context), committed bool, i int) error {
	err := unpanicked(func() error { f(ctx); return nil })
	if err == nil {
		return nil
	}
	kind := "rollback"
	if committed {
		kind = "commit"
	}
	return fmt.Errorf("%w: %s hook %d %w", ErrHook, kind, i+1, err)
}

// unpanicked runs f, and returns its panic, with the stack, as an error.
func unpanicked(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return f()
}
