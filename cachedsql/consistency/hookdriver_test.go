package consistency_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5/stdlib"
)

// The hook driver wraps pgx's database/sql driver, so that the tests can see
// and stop the queries cachedsql's creators run on PostgreSQL from outside
// cachedsql: a creator runs on a context detached from its caller's
// cancellation but keeping its values, and database/sql hands that context
// to the driver. No hook in cachedsql's code is needed.

// hooks are what the hook driver of one database handle reports and obeys.
type hooks struct {
	// queries counts the statements run through QueryContext: outside a
	// transaction (the writers' statements are Execs), these are the
	// readers' cache misses that reached PostgreSQL.
	queries atomic.Int64
}

// openHooked opens dsn through the hook driver.
func openHooked(dsn string) (*sql.DB, *hooks, error) {
	dc, ok := stdlib.GetDefaultDriver().(driver.DriverContext)
	if !ok {
		return nil, nil, errors.New("pgx's stdlib driver is no longer a driver.DriverContext")
	}
	inner, err := dc.OpenConnector(dsn)
	if err != nil {
		return nil, nil, err
	}
	h := &hooks{}
	return sql.OpenDB(hookConnector{inner: inner, h: h}), h, nil
}

// queryTrace, put in a read's context with withTrace, learns whether that
// read ran a query on PostgreSQL itself (it led the creation) and can stop
// that query's rows after the last one was read.
type queryTrace struct {
	queried atomic.Bool
	// pause, when set, is the point where the creator stops: after it read
	// every row of its query, before it returns them to the region (which
	// stores them): between its database read and its cache fill.
	pause *pausePoint
}

type traceKey struct{}

func withTrace(ctx context.Context, tr *queryTrace) context.Context {
	return context.WithValue(ctx, traceKey{}, tr)
}

// pausePoint stops one query's rows on Close until released.
type pausePoint struct {
	once    sync.Once
	reached chan struct{} // closed when the rows are held
	release chan struct{} // closed by the test to let them go
}

func newPausePoint() *pausePoint {
	return &pausePoint{reached: make(chan struct{}), release: make(chan struct{})}
}

func (p *pausePoint) hold() {
	p.once.Do(func() {
		close(p.reached)
		<-p.release
	})
}

type hookConnector struct {
	inner driver.Connector
	h     *hooks
}

func (c hookConnector) Connect(ctx context.Context) (driver.Conn, error) {
	ic, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &hookConn{inner: ic, h: c.h}, nil
}

func (c hookConnector) Driver() driver.Driver { return c.inner.Driver() }

// hookConn passes everything to pgx's connection, whose optional
// interfaces it requires (pgx has them all).
type hookConn struct {
	inner driver.Conn
	h     *hooks
}

func (c *hookConn) Prepare(query string) (driver.Stmt, error) { return c.inner.Prepare(query) }
func (c *hookConn) Close() error                              { return c.inner.Close() }
func (c *hookConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *hookConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.inner.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *hookConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.inner.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *hookConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.inner.(driver.ExecerContext).ExecContext(ctx, query, args)
}

func (c *hookConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.h.queries.Add(1)
	tr, _ := ctx.Value(traceKey{}).(*queryTrace)
	if tr != nil {
		tr.queried.Store(true)
	}
	rows, err := c.inner.(driver.QueryerContext).QueryContext(ctx, query, args)
	if err != nil || tr == nil || tr.pause == nil {
		return rows, err
	}
	return &hookRows{Rows: rows, pause: tr.pause}, nil
}

func (c *hookConn) Ping(ctx context.Context) error { return c.inner.(driver.Pinger).Ping(ctx) }

func (c *hookConn) CheckNamedValue(nv *driver.NamedValue) error {
	return c.inner.(driver.NamedValueChecker).CheckNamedValue(nv)
}

func (c *hookConn) ResetSession(ctx context.Context) error {
	return c.inner.(driver.SessionResetter).ResetSession(ctx)
}

// hookRows holds at its pause point once every row was read: database/sql
// closes a driver's rows when Next reports the end, before the creator gets
// its result set back.
type hookRows struct {
	driver.Rows
	pause *pausePoint
}

func (r *hookRows) Next(dest []driver.Value) error {
	err := r.Rows.Next(dest)
	if err == io.EOF {
		r.pause.hold()
	}
	return err
}

func (r *hookRows) ColumnTypeDatabaseTypeName(i int) string {
	if ct, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return ct.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *hookRows) ColumnTypeLength(i int) (int64, bool) {
	if ct, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return ct.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *hookRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	if ct, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return ct.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

func (r *hookRows) ColumnTypeScanType(i int) reflect.Type {
	if ct, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return ct.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

var (
	_ driver.Connector          = hookConnector{}
	_ driver.ConnBeginTx        = (*hookConn)(nil)
	_ driver.ConnPrepareContext = (*hookConn)(nil)
	_ driver.ExecerContext      = (*hookConn)(nil)
	_ driver.QueryerContext     = (*hookConn)(nil)
	_ driver.Pinger             = (*hookConn)(nil)
	_ driver.NamedValueChecker  = (*hookConn)(nil)
	_ driver.SessionResetter    = (*hookConn)(nil)
)
