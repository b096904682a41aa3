package cachedsql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"slices"
	"sync"
)

// A caller that holds a session (a *sql.Conn, with its database
// connection pinned) and misses joins the creation of its key like any
// other caller. When another caller leads that creation, it queries on
// the pool; if the pool's every connection is held by such sessions, all
// waiting for the creation, neither moves again (with SetMaxOpenConns(1),
// one held session is enough). Through sqlx the session's read would have
// run on its own connection. So the sessions that wait for a key are
// offered to its creation, which borrows one rather than wait for the
// pool while the pool is at its limit.

// lenders are the sessions offered to each key's creation, and the
// creations of each key waiting for a pool connection.
type lenders struct {
	mu   sync.Mutex
	keys map[string]*lendKey
}

type lendKey struct {
	leases  []*sessionLease
	waiting []*waiter // creations waiting for the pool: woken by an offer
}

// offer offers lease to the creation of key until withdraw is called. On
// a pool without a connection limit it offers nothing: a creation there
// never borrows (queryForCreation), and a read on a held session, hit or
// miss, should not pay for the offer.
func (l *lenders) offer(pool *sql.DB, key string, lease *sessionLease) (withdraw func()) {
	if pool.Stats().MaxOpenConnections == 0 {
		return func() {}
	}
	l.mu.Lock()
	k := l.keyLocked(key)
	k.leases = append(k.leases, lease)
	wake := k.waiting
	k.waiting = nil
	l.mu.Unlock()
	for _, w := range wake {
		w.wake()
	}
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		for i, x := range k.leases {
			if x == lease {
				k.leases = append(k.leases[:i], k.leases[i+1:]...)
				break
			}
		}
		if len(k.leases) == 0 && len(k.waiting) == 0 && l.keys[key] == k {
			delete(l.keys, key)
		}
	}
}

// waiter is a creation waiting for the pool, woken when a session is
// offered for its key.
type waiter struct{ wake context.CancelFunc }

// borrow returns a session offered for key, held until give is called,
// or nil; it skips the sessions in tried (found dead by this creation).
// Otherwise, when wait is given, it is woken when one is offered next (or
// until forget).
func (l *lenders) borrow(key string, wait *waiter, tried []*sql.Conn) (s *sql.Conn, give func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := l.keys[key]
	if k != nil {
		for _, lease := range k.leases {
			if slices.Contains(tried, lease.sess) {
				continue
			}
			if s := lease.tryTake(); s != nil {
				return s, lease.give
			}
		}
	}
	if wait != nil {
		l.awaitLocked(key, wait)
	}
	return nil, nil
}

// await has w woken when a session is offered for key next (or until
// forget).
func (l *lenders) await(key string, w *waiter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.awaitLocked(key, w)
}

func (l *lenders) awaitLocked(key string, w *waiter) {
	k := l.keyLocked(key)
	k.waiting = append(k.waiting, w)
}

// keyLocked returns key's entry, made if need be; l.mu is held.
func (l *lenders) keyLocked(key string) *lendKey {
	if l.keys == nil {
		l.keys = make(map[string]*lendKey)
	}
	k := l.keys[key]
	if k == nil {
		k = &lendKey{}
		l.keys[key] = k
	}
	return k
}

// forget drops w, a creation of key that waits no longer.
func (l *lenders) forget(key string, w *waiter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := l.keys[key]
	if k == nil {
		return
	}
	for i, x := range k.waiting {
		if x == w {
			k.waiting = append(k.waiting[:i], k.waiting[i+1:]...)
			break
		}
	}
	if len(k.leases) == 0 && len(k.waiting) == 0 {
		delete(l.keys, key)
	}
}

// queryForCreation runs the query of key's creation, which has no session
// of its own, and returns its rows and what to call once they are read. A
// pool with no limit always has a connection to give: the query runs on
// it as database/sql runs any. A pool with a limit may have none while
// held sessions wait for this creation: the query runs on one of them
// (sessionFor). A connection found dead (driver.ErrBadConn, as after a
// server restart) is retried on another, as database/sql's own
// QueryContext would.
func (e *engine) queryForCreation(ctx context.Context, key, query string, a []any) (*sql.Rows, func(), error) {
	if e.inner.Stats().MaxOpenConnections == 0 {
		rows, err := e.inner.QueryContext(ctx, query, a...)
		return rows, func() {}, err
	}
	var tried []*sql.Conn
	for attempt := 1; ; attempt++ {
		s, give, err := e.sessionFor(ctx, key, tried)
		if err != nil {
			return nil, nil, err
		}
		rows, err := queryOn(ctx, s, give, query, a)
		if err == nil {
			return rows, give, nil
		}
		dead := errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone)
		if !dead || attempt == maxDeadConns {
			return nil, nil, err
		}
		tried = append(tried, s)
	}
}

// queryOn runs the query on s, and gives s back (give) unless it returns
// rows: on an error, and on a panic, which would otherwise leave a lent
// session's owner waiting for it for good.
func queryOn(ctx context.Context, s *sql.Conn, give func(), query string, a []any) (rows *sql.Rows, err error) {
	defer func() {
		if rows == nil { // an error (QueryContext gives no rows with one), or a panic
			give()
		}
	}()
	return s.QueryContext(ctx, query, a...)
}

// maxDeadConns is how many connections found dead a creation's query
// tries before it fails (database/sql tries three).
const maxDeadConns = 3

// sessionFor returns where the creation of key runs its query on a pool
// with a limit: a pool connection or a session offered for the key
// (other than those in tried), whichever comes first, and how to give it
// back after the rows are read. A session is borrowed only while the
// pool is at its limit: its owner may still be reading rows of its own on
// it, and a query of ours would then fail ("conn busy") where a pool
// connection would have served it.
func (e *engine) sessionFor(ctx context.Context, key string, tried []*sql.Conn) (*sql.Conn, func(), error) {
	for {
		wctx, cancel := context.WithCancel(ctx)
		w := &waiter{wake: cancel}
		if st := e.inner.Stats(); st.InUse >= st.MaxOpenConnections {
			if s, give := e.lenders.borrow(key, w, tried); s != nil {
				cancel()
				return s, give, nil
			}
		} else {
			e.lenders.await(key, w) // woken if the pool fills and a session is offered
		}
		c, err := e.inner.Conn(wctx)
		woken := wctx.Err() != nil && ctx.Err() == nil
		cancel()
		e.lenders.forget(key, w)
		if err == nil {
			return c, func() { _ = c.Close() }, nil
		}
		if !woken {
			return nil, nil, err
		}
		// An offer woke us: borrow it.
	}
}
