package cachedsql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"io"
	"sync"

	"github.com/dogpile-go/dogpile/cachedsql/internal/rowset"
)

// exec runs a statement that returns no rows. A write marks its tables'
// tags pending before it runs; outside a transaction the statement is its
// own transaction, and its tags are bumped as soon as it returns (also when
// it failed: an error may hide a commit that happened). Inside one, the
// tags wait for the commit.
func (e *engine) exec(ctx context.Context, c *conn, query string, nvs []driver.NamedValue) (driver.Result, error) {
	return e.execAnalyzed(ctx, c, e.analyze(query), query, args(nvs))
}

// execAnalyzed is exec once the statement is analysed.
func (e *engine) execAnalyzed(ctx context.Context, c *conn, an *analysis, query string, a []any) (driver.Result, error) {
	s, err := c.session(ctx)
	if err != nil {
		return nil, err
	}
	c.note(an)
	if len(an.a.TxControl) > 0 {
		return e.execTxText(ctx, c, s, an, query, a)
	}
	if len(an.writeTags) == 0 {
		return c.execOn(ctx, s, query, a)
	}
	if c.inTx() {
		e.report(c.ws.Touch(ctx, an.writeTags...))
		return c.execOn(ctx, s, query, a)
	}
	ws := e.tags.Begin()
	e.report(ws.Touch(ctx, an.writeTags...))
	res, err := s.ExecContext(ctx, query, a...)
	e.report(ws.Commit(ctx))
	return res, err
}

func (c *conn) execOn(ctx context.Context, s *sql.Conn, query string, a []any) (driver.Result, error) {
	if c.tx != nil {
		return c.tx.ExecContext(ctx, query, a...)
	}
	return s.ExecContext(ctx, query, a...)
}

// query runs a statement that returns rows: from the cache when it is a
// cacheable read outside a transaction, from the database otherwise. A
// statement that writes (INSERT … RETURNING, a CTE that writes, a call the
// analyzer cannot see into) is handled as a write whose tags are bumped
// once its rows are closed.
func (e *engine) query(ctx context.Context, c *conn, query string, nvs []driver.NamedValue) (driver.Rows, error) {
	an := e.analyze(query)
	a := args(nvs)
	if len(an.a.TxControl) > 0 {
		// BEGIN, COMMIT, … sent through Query: tracked as through Exec,
		// with no rows.
		if _, err := e.execAnalyzed(ctx, c, an, query, a); err != nil {
			return nil, err
		}
		return rowset.NoRows(io.EOF), nil
	}
	c.note(an) // a call the analyzer cannot see into may change the session
	if len(an.writeTags) > 0 {
		return e.writeQuery(ctx, c, an, query, a)
	}
	cl := callFrom(ctx)
	if c.inTx() || c.tainted || !e.cacheable(an, cl) {
		// Inside a transaction, or on a session whose state may differ from
		// others' (a held *sql.Conn that ran SET, created a temporary
		// table, …), the read must see what the session sees and run on it.
		return c.stream(ctx, query, a, nil)
	}
	set, err := e.cachedQuery(ctx, an, query, a, cl, c.inner)
	switch {
	case isUncacheable(err):
		return c.stream(ctx, query, a, nil)
	case err != nil:
		return nil, err
	case set == nil: // too large to cache
		return c.stream(ctx, query, a, nil)
	}
	return rowset.DriverRows(ctx, set), nil
}

func (e *engine) writeQuery(ctx context.Context, c *conn, an *analysis, query string, a []any) (driver.Rows, error) {
	if c.inTx() {
		e.report(c.ws.Touch(ctx, an.writeTags...))
		return c.stream(ctx, query, a, nil)
	}
	ws := e.tags.Begin()
	e.report(ws.Touch(ctx, an.writeTags...))
	var once sync.Once
	commit := func() { once.Do(func() { e.report(ws.Commit(ctx)) }) }
	rows, err := c.stream(ctx, query, a, commit)
	if err != nil {
		commit()
	}
	return rows, err
}

// stream runs a query on this connection's session (or transaction) and
// hands its rows through unchanged.
func (c *conn) stream(ctx context.Context, query string, a []any, onClose func()) (driver.Rows, error) {
	s, err := c.session(ctx)
	if err != nil {
		return nil, err
	}
	var r *sql.Rows
	if c.tx != nil {
		r, err = c.tx.QueryContext(ctx, query, a...)
	} else {
		r, err = s.QueryContext(ctx, query, a...)
	}
	if err != nil {
		return nil, err
	}
	return newSQLRows(r, onClose)
}
