package cachedsql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"io"
	"reflect"

	"github.com/dogpile-go/dogpile/invalidation"
)

// The caching driver sits between database/sql (and sqlx above it) and the
// caller's database handle. Every path a statement can take — DB, Conn, Tx,
// prepared statements, sqlx's helpers — reaches one of its connections, so
// every read can be served from the cache and every write is seen: no
// statement can slip past the invalidation by taking another path.

// connector makes the caching driver's connections for one DB.
type connector struct{ e *engine }

func (c connector) Connect(context.Context) (driver.Conn, error) { return &conn{e: c.e}, nil }

// Driver returns the inner database's driver, so that DB.Driver gives what
// it gives on sqlx (database/sql opens connections through Connect, never
// through it).
func (c connector) Driver() driver.Driver { return c.e.inner.Driver() }

// cachingDriver is the driver.Driver of the caching connections; it cannot
// be opened by name.
type cachingDriver struct{}

func (cachingDriver) Open(string) (driver.Conn, error) { return nil, ErrNotOpenedByName }

// conn is one caching connection. database/sql uses a connection from one
// goroutine at a time. It holds a connection of the inner database only
// while it needs one — from the first statement that must run on the
// database until database/sql puts it back in its pool (see IsValid), or
// until its transaction ends — so cache hits take no database connection at
// all, and a *sql.Conn keeps one session for its life.
type conn struct {
	e     *engine
	inner *sql.Conn // pinned inner connection, once needed
	tx    *sql.Tx   // the transaction database/sql began on this connection
	// ws is the write set of the transaction in progress: database/sql's
	// (tx) or one the caller began by sending BEGIN (manual).
	ws     *invalidation.WriteSet
	manual bool
	// adopted says database/sql's transaction began inside one begun by
	// text, and carries on its write set (see BeginTx).
	adopted bool
	closed  bool
	// tainted is set once the session ran a statement that may change its
	// state (see analysis.taints), until the session ends.
	tainted bool
}

// note records what running an's statement on the session does to it.
func (c *conn) note(an *analysis) {
	if an.taints {
		c.tainted = true
	}
}

func (c *conn) session(ctx context.Context) (*sql.Conn, error) {
	if c.closed {
		return nil, ErrConnClosed
	}
	if c.inner == nil {
		ic, err := c.e.inner.Conn(ctx)
		if err != nil {
			return nil, err
		}
		c.inner = ic
		c.e.session.prime(ctx, ic)
	}
	return c.inner, nil
}

// inTx reports whether a transaction is open on this connection.
func (c *conn) inTx() bool { return c.tx != nil || c.manual }

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext returns a statement that runs through this connection's
// paths each time (cache, invalidation). It prepares the statement on the
// database once, as database/sql would, so that a statement the database
// rejects fails here rather than at its first execution; it then runs by
// its text (drivers such as pgx cache statement descriptions by
// themselves, and a statement served from the cache needs none).
func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	s, err := c.session(ctx)
	if err != nil {
		return nil, err
	}
	ps, err := s.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	_ = ps.Close()
	return &stmt{c: c, query: query}, nil
}

func (c *conn) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	var err error
	if c.tx != nil {
		err = c.finishTx(context.Background(), false)
	}
	if c.manual && c.ws != nil {
		// A session closed inside a transaction it began by text: the
		// database rolls it back.
		_ = c.ws.Rollback(context.Background())
		c.ws, c.manual = nil, false
	}
	if c.inner != nil {
		if cerr := c.inner.Close(); err == nil {
			err = cerr
		}
		c.inner = nil
	}
	return err
}

func (c *conn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	s, err := c.session(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := s.BeginTx(ctx, &sql.TxOptions{Isolation: sql.IsolationLevel(opts.Isolation), ReadOnly: opts.ReadOnly})
	if err != nil {
		return nil, err
	}
	c.tx = tx
	if c.manual {
		// The session is inside a transaction it began by text, where
		// PostgreSQL's BEGIN only warns: the Tx is that transaction, and
		// ends the writes made before it too, so it carries on their
		// write set. MySQL's BEGIN commits them instead: the Tx bumps
		// them however it ends (their tables stay pending meanwhile).
		c.manual, c.adopted = false, true
		return txHandle{c}, nil
	}
	c.ws = c.e.tags.Begin()
	return txHandle{c}, nil
}

// finishTx commits or rolls back the transaction database/sql began, and
// then its write set: after a commit that may have happened (an error from
// Commit may hide a commit that reached the database) the tags are bumped.
func (c *conn) finishTx(ctx context.Context, commit bool) error {
	tx, ws, adopted := c.tx, c.ws, c.adopted
	c.tx, c.ws, c.adopted = nil, nil, false
	var err error
	switch {
	case commit:
		err = tx.Commit()
		c.e.report(ws.Commit(ctx))
	case adopted:
		err = tx.Rollback()
		c.e.report(ws.Commit(ctx))
	default:
		err = tx.Rollback()
		c.e.report(ws.Rollback(ctx))
	}
	return err
}

// txHandle is the driver.Tx of a transaction on a caching connection.
type txHandle struct{ c *conn }

func (t txHandle) Commit() error   { return t.c.finishTx(context.Background(), true) }
func (t txHandle) Rollback() error { return t.c.finishTx(context.Background(), false) }

func (c *conn) ExecContext(ctx context.Context, query string, nvs []driver.NamedValue) (driver.Result, error) {
	if c.closed {
		return nil, ErrConnClosed
	}
	return c.e.exec(ctx, c, query, nvs)
}

func (c *conn) QueryContext(ctx context.Context, query string, nvs []driver.NamedValue) (driver.Rows, error) {
	if c.closed {
		return nil, ErrConnClosed
	}
	return c.e.query(ctx, c, query, nvs)
}

// CheckNamedValue accepts every argument as it is: the inner driver checks
// and converts it (pgx takes slices for arrays, and types of its own).
func (c *conn) CheckNamedValue(*driver.NamedValue) error { return nil }

func (c *conn) Ping(ctx context.Context) error {
	s, err := c.session(ctx)
	if err != nil {
		return err
	}
	return s.PingContext(ctx)
}

// ResetSession gives back the inner connection before database/sql hands
// this connection to another caller, unless a transaction holds it: a
// cache miss queries the inner handle, and must never wait for a
// connection that an idle caching connection keeps (with SetMaxOpenConns(1)
// it would wait forever).
func (c *conn) ResetSession(context.Context) error {
	if c.closed {
		return driver.ErrBadConn
	}
	c.release()
	return nil
}

// IsValid is called as database/sql puts the connection back in its pool:
// the end of a session (a *sql.Conn keeps its connection, and a Tx its, until
// they end). Outside a transaction the inner connection goes back to the
// inner pool then, so idle caching connections hold no database connection
// and cache misses (which query through the inner pool) never wait for one
// that an idle connection sits on.
func (c *conn) IsValid() bool {
	if c.closed {
		return false
	}
	c.release()
	return true
}

// release gives the inner connection back to the inner pool at the end of
// a session, unless database/sql's transaction holds it. A session that
// may have changed its state (a SET, a temporary table: tainted), or that
// began a transaction by text and never ended it (manual), must not reach
// the pool's next user, who would read and fill the shared cache through
// it, or write inside a transaction never committed: its connection is
// discarded, and an open manual transaction's write set rolled back.
func (c *conn) release() {
	if c.inner == nil || c.tx != nil {
		return
	}
	discard := c.tainted
	if c.manual {
		c.e.report(c.ws.Rollback(context.Background()))
		c.manual, c.ws = false, nil
		discard = true
	}
	if discard {
		// Raw's function failing with ErrBadConn makes database/sql close
		// the connection instead of pooling it.
		_ = c.inner.Raw(func(any) error { return driver.ErrBadConn })
	}
	_ = c.inner.Close() // an error means it is gone anyway
	c.inner, c.tainted = nil, false
}

// stmt is a prepared statement on a caching connection: its text, run
// through the connection's paths on each execution.
type stmt struct {
	c     *conn
	query string
}

func (s *stmt) Close() error  { return nil }
func (s *stmt) NumInput() int { return -1 }

func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), named(args))
}

func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), named(args))
}

func (s *stmt) ExecContext(ctx context.Context, nvs []driver.NamedValue) (driver.Result, error) {
	return s.c.ExecContext(ctx, s.query, nvs)
}

func (s *stmt) QueryContext(ctx context.Context, nvs []driver.NamedValue) (driver.Rows, error) {
	return s.c.QueryContext(ctx, s.query, nvs)
}

func (s *stmt) CheckNamedValue(*driver.NamedValue) error { return nil }

func named(args []driver.Value) []driver.NamedValue {
	out := make([]driver.NamedValue, len(args))
	for i, v := range args {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return out
}

// sqlRows streams the inner database's rows through the caching driver, for
// reads that are not cached. onClose runs once, after the inner rows are
// closed (a write that returns rows is bumped then).
type sqlRows struct {
	r *sql.Rows
	// peeked says HasNextResultSet moved r to its next result set
	// already, and more whether there was one.
	peeked, more bool
	cols         []string
	types        []*sql.ColumnType
	vals         []any
	ptrs         []any
	onClose      func()
}

func newSQLRows(r *sql.Rows, onClose func()) (*sqlRows, error) {
	sr := &sqlRows{r: r, onClose: onClose}
	if err := sr.describe(); err != nil {
		sr.Close()
		return nil, err
	}
	return sr, nil
}

func (r *sqlRows) describe() error {
	cols, err := r.r.Columns()
	if err != nil {
		return err
	}
	r.cols = cols
	r.types, _ = r.r.ColumnTypes() // optional: a driver may not describe its columns
	r.vals = make([]any, len(cols))
	r.ptrs = make([]any, len(cols))
	for i := range r.vals {
		r.ptrs[i] = &r.vals[i]
	}
	return nil
}

func (r *sqlRows) Columns() []string { return r.cols }

func (r *sqlRows) Close() error {
	err := r.r.Close()
	if r.onClose != nil {
		r.onClose()
		r.onClose = nil
	}
	return err
}

// Next reads the inner row's driver values: scanning into *any hands them
// over unconverted ([]byte copied).
func (r *sqlRows) Next(dest []driver.Value) error {
	if !r.r.Next() {
		if err := r.r.Err(); err != nil {
			return err
		}
		return io.EOF
	}
	if err := r.r.Scan(r.ptrs...); err != nil {
		return err
	}
	for i, v := range r.vals {
		dest[i] = v
	}
	return nil
}

// HasNextResultSet tells database/sql, at the end of a result set,
// whether another follows; when none does it closes the rows itself, and
// a program that relies on that (never calling Close after reading to the
// end) gets its connection back. *sql.Rows cannot say without moving to
// the next set, so this moves, and NextResultSet does not move again.
func (r *sqlRows) HasNextResultSet() bool {
	if !r.peeked {
		r.peeked, r.more = true, r.r.NextResultSet()
	}
	return r.more
}

func (r *sqlRows) NextResultSet() error {
	more := r.more
	if !r.peeked {
		more = r.r.NextResultSet()
	}
	r.peeked = false
	if !more {
		if err := r.r.Err(); err != nil {
			return err
		}
		return io.EOF
	}
	return r.describe()
}

func (r *sqlRows) colType(i int) *sql.ColumnType {
	if i < len(r.types) {
		return r.types[i]
	}
	return nil
}

func (r *sqlRows) ColumnTypeDatabaseTypeName(i int) string {
	if ct := r.colType(i); ct != nil {
		return ct.DatabaseTypeName()
	}
	return ""
}

func (r *sqlRows) ColumnTypeLength(i int) (int64, bool) {
	if ct := r.colType(i); ct != nil {
		return ct.Length()
	}
	return 0, false
}

func (r *sqlRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	if ct := r.colType(i); ct != nil {
		return ct.DecimalSize()
	}
	return 0, 0, false
}

func (r *sqlRows) ColumnTypeNullable(i int) (bool, bool) {
	if ct := r.colType(i); ct != nil {
		return ct.Nullable()
	}
	return false, false
}

func (r *sqlRows) ColumnTypeScanType(i int) reflect.Type {
	if ct := r.colType(i); ct != nil && ct.ScanType() != nil {
		return ct.ScanType()
	}
	return reflect.TypeFor[any]()
}

var (
	_ driver.Connector            = connector{}
	_ driver.Conn                 = (*conn)(nil)
	_ driver.ConnBeginTx          = (*conn)(nil)
	_ driver.ConnPrepareContext   = (*conn)(nil)
	_ driver.ExecerContext        = (*conn)(nil)
	_ driver.QueryerContext       = (*conn)(nil)
	_ driver.NamedValueChecker    = (*conn)(nil)
	_ driver.Pinger               = (*conn)(nil)
	_ driver.SessionResetter      = (*conn)(nil)
	_ driver.Validator            = (*conn)(nil)
	_ driver.StmtExecContext      = (*stmt)(nil)
	_ driver.StmtQueryContext     = (*stmt)(nil)
	_ driver.RowsNextResultSet    = (*sqlRows)(nil)
	_ driver.RowsColumnTypeLength = (*sqlRows)(nil)
)
