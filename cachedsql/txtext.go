package cachedsql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"sync"
	"time"

	"github.com/dogpile-go/dogpile/cachedsql/sqlanalysis"
	"github.com/dogpile-go/dogpile/invalidation"
)

// execTxText runs a string that starts or ends a transaction by its text
// (BEGIN, COMMIT, PREPARE TRANSACTION, …), alone or among other statements,
// and keeps the connection's text transaction and its write set in step
// with the session's.
//
// The analysis says which tables the string writes but not which of its
// statements write them, so the writes are charged to every transaction
// the string touches: the one open before it, each it begins, and the
// autocommitted remainder. Each of those write sets marks the tables
// pending before the string runs and bumps them (or, for a transaction
// the string leaves open, holds them until it ends): a needless bump costs
// a miss, a missing one a stale read.
func (e *engine) execTxText(ctx context.Context, c *conn, s *sql.Conn, an *analysis, query string, a []any) (driver.Result, error) {
	if c.tx != nil {
		// database/sql's Tx would end as it began, by Commit or Rollback,
		// and not know the transaction had ended.
		return nil, ErrTxControl
	}
	w := an.writeTags
	touch := func(ws *invalidation.WriteSet) *invalidation.WriteSet {
		if len(w) > 0 {
			e.report(ws.Touch(ctx, w...))
		}
		return ws
	}
	open, cur := c.manual, c.ws // the transaction in progress and its write set
	if open {
		touch(cur)
	}
	var auto *invalidation.WriteSet // the writes the string commits outside a transaction
	if len(w) > 0 {
		auto = touch(e.tags.Begin())
	}
	// Walk the statements in order, deciding what each transaction's
	// write set does once the string has run; nothing is finished before
	// it runs.
	var after []func(err error)
	for _, st := range an.a.TxControl {
		switch st.Verb {
		case sqlanalysis.TxBegin:
			if !open { // BEGIN within a transaction only warns
				open, cur = true, touch(e.tags.Begin())
			}
		case sqlanalysis.TxCommit, sqlanalysis.TxRollback:
			if open {
				ws, bump := cur, st.Verb == sqlanalysis.TxCommit || len(w) > 0
				after = append(after, func(error) { e.finish(ctx, ws, bump) })
			}
			open, cur = false, nil
			if st.Chain {
				open, cur = true, touch(e.tags.Begin())
			}
		case sqlanalysis.TxPrepare:
			if open {
				// The writes become visible at COMMIT PREPARED, from
				// whichever session sends it: the write set waits for
				// it, its tables pending meanwhile. A PREPARE that
				// failed rolled the transaction back.
				ws, gid := cur, st.GID
				after = append(after, func(err error) {
					if err != nil {
						e.finish(ctx, ws, true)
						return
					}
					expire := func(ws *invalidation.WriteSet) { e.finish(context.Background(), ws, true) }
					if old := e.prepared.put(gid, ws, e.preparedHold, expire); old != nil {
						expire(old)
					}
				})
			}
			open, cur = false, nil
		case sqlanalysis.TxCommitPrepared, sqlanalysis.TxRollbackPrepared:
			gid, commit := st.GID, st.Verb == sqlanalysis.TxCommitPrepared
			after = append(after, func(error) { e.endPrepared(ctx, gid, commit) })
		}
	}
	res, err := s.ExecContext(ctx, query, a...)
	for _, f := range after {
		f(err)
	}
	switch {
	case err == nil:
	case an.a.Statements > 1:
		// Which of the statements ran is unknown, so is whether the
		// session is in a transaction: say it is, with the writes
		// pending, until the caller ends it or the connection goes back
		// to the pool (rolled back and discarded there).
		if !open {
			open, cur = true, touch(e.tags.Begin())
		}
	case an.a.TxControl[0].Verb == sqlanalysis.TxBegin && !c.manual:
		// A BEGIN that failed began nothing.
		e.finish(ctx, cur, false)
		open, cur = false, nil
	}
	if auto != nil {
		// After the transaction left open took its marks: its tables
		// stay pending through the bump.
		e.finish(ctx, auto, true)
	}
	c.manual, c.ws = open, cur
	return res, err
}

// finish commits ws (bumping its tags) or rolls it back.
func (e *engine) finish(ctx context.Context, ws *invalidation.WriteSet, bump bool) {
	if bump {
		e.report(ws.Commit(ctx))
	} else {
		e.report(ws.Rollback(ctx))
	}
}

// endPrepared finishes the write set of the prepared transaction gid as
// COMMIT PREPARED (commit) or ROLLBACK PREPARED did. A transaction this DB
// did not prepare (another process did, or this one before it reopened)
// wrote tables no one here knows: its commit invalidates everything, as an
// unknown write does.
func (e *engine) endPrepared(ctx context.Context, gid string, commit bool) {
	if ws, ok := e.prepared.take(gid); ok {
		e.finish(ctx, ws, commit)
		return
	}
	if commit {
		e.report(e.tags.Invalidate(ctx, e.allTag))
	}
}

// preparedHold bounds how long a prepared transaction's write set waits
// for its COMMIT PREPARED or ROLLBACK PREPARED to reach the DB. Past it the
// set is committed and forgotten: the transaction may have been ended by
// another process (a transaction manager, say), and its tables would
// otherwise stay pending, bypassing the cache in every process, until the
// DB closed. A later COMMIT PREPARED of it through the DB finds no set and
// invalidates everything.
const preparedHold = 5 * time.Minute

// preparedSets holds the write sets of transactions prepared for a
// two-phase commit (PREPARE TRANSACTION) by their identifiers, until a
// COMMIT PREPARED or ROLLBACK PREPARED on any connection of the DB ends
// them, for at most preparedHold. Their marks stay renewed meanwhile, like
// an open transaction's.
type preparedSets struct {
	mu   sync.Mutex
	sets map[string]*preparedSet
}

type preparedSet struct {
	ws    *invalidation.WriteSet
	timer *time.Timer
}

// put holds ws under gid; expire gets it if it is still held after hold.
// It returns the set it replaces, if any: PostgreSQL refuses a second
// prepared transaction of one identifier, so the first has ended
// elsewhere, and its set is to be finished as an expired one is.
func (p *preparedSets) put(gid string, ws *invalidation.WriteSet, hold time.Duration, expire func(*invalidation.WriteSet)) (replaced *invalidation.WriteSet) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sets == nil {
		p.sets = make(map[string]*preparedSet)
	}
	if old, ok := p.sets[gid]; ok {
		old.timer.Stop()
		replaced = old.ws
	}
	ps := &preparedSet{ws: ws}
	ps.timer = time.AfterFunc(hold, func() {
		p.mu.Lock()
		held := p.sets[gid] == ps
		if held {
			delete(p.sets, gid)
		}
		p.mu.Unlock()
		if held {
			expire(ws)
		}
	})
	p.sets[gid] = ps
	return replaced
}

// take removes and returns the set held under gid.
func (p *preparedSets) take(gid string) (*invalidation.WriteSet, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ps, ok := p.sets[gid]
	if !ok {
		return nil, false
	}
	ps.timer.Stop()
	delete(p.sets, gid)
	return ps.ws, true
}

// takeAll removes and returns every set held.
func (p *preparedSets) takeAll() []*invalidation.WriteSet {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*invalidation.WriteSet
	for gid, ps := range p.sets {
		ps.timer.Stop()
		out = append(out, ps.ws)
		delete(p.sets, gid)
	}
	return out
}

// closePrepared commits the write sets of transactions still prepared
// when the DB closes: whoever ends them, this DB will not hear of it.
func (e *engine) closePrepared(ctx context.Context) error {
	var first error
	for _, ws := range e.prepared.takeAll() {
		if err := ws.Commit(ctx); err != nil && first == nil {
			first = err
		}
	}
	return first
}
