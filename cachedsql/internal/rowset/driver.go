package rowset

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"io"
	"reflect"
	"time"
)

// The replay driver: an in-process database/sql driver whose connections
// answer a query with the Source the query's context carries, so that
// database/sql builds real *sql.Rows over a Set (or an Overflow). Its
// connections hold no state: database/sql pools them, and any of them
// serves any replay.

// connector is the replay driver's driver.Connector.
type connector struct{}

func (connector) Connect(context.Context) (driver.Conn, error) { return conn{}, nil }
func (connector) Driver() driver.Driver                        { return replayDriver{} }

// replayDriver exists because a Connector must name its driver; opening
// one by name is not supported.
type replayDriver struct{}

func (replayDriver) Open(string) (driver.Conn, error) { return conn{}, nil }

// conn is a replay connection.
type conn struct{}

var (
	_ driver.QueryerContext = conn{}
	_ driver.Validator      = conn{}
)

func (conn) Prepare(string) (driver.Stmt, error) { return nil, errReadOnly }
func (conn) Close() error                        { return nil }
func (conn) Begin() (driver.Tx, error)           { return nil, errReadOnly }
func (conn) IsValid() bool                       { return true }

// QueryContext answers with the source the context carries (see
// replayContext), whatever the query says.
func (conn) QueryContext(ctx context.Context, _ string, _ []driver.NamedValue) (driver.Rows, error) {
	rc, ok := ctx.(*replayContext)
	if !ok {
		rc, ok = ctx.Value(replayKey{}).(*replayContext)
		if !ok {
			return nil, errNoSource
		}
	}
	if rc.err != nil {
		return nil, rc.err
	}
	return rc.src.open(rc.caller), nil
}

// replayKey is the context key under which a replayContext finds itself,
// should database/sql ever hand the driver a context derived from it.
type replayKey struct{}

// replayContext is the context a replay passes to database/sql: it carries
// the source to replay (or an error to answer with), and the caller's
// values, but no Done channel: database/sql would start a goroutine per
// query to watch one. The rows watch the caller's context themselves
// instead (see rows.Next).
type replayContext struct {
	caller context.Context
	src    Source
	err    error
}

func (*replayContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (*replayContext) Done() <-chan struct{}       { return nil }
func (*replayContext) Err() error                  { return nil }

func (c *replayContext) Value(key any) any {
	if key == (replayKey{}) {
		return c
	}
	return c.caller.Value(key)
}

// rows are the driver rows of one replay: the rows of a Set, and for an
// Overflow, the database rows that continue its last result.
type rows struct {
	set *Set
	res int     // the current result
	cur *result // set.results[res], or, past them, a result of live's with no buffered rows
	row int     // the next row of cur

	names []string // this replay's copy of cur's names, made by Columns

	// arena is where []byte cells are copied, so that no caller is handed
	// the set's own memory; bytesLeft counts the bytes of cur not yet
	// copied, and chunk the size of the last arena.
	arena     []byte
	bytesLeft int
	chunk     int

	done   <-chan struct{} // the caller's context's, if it can be cancelled
	caller context.Context

	live *liveRows // an Overflow's database rows; nil for a Set
}

// liveRows is the part of an Overflow still in the database.
type liveRows struct {
	rows     *sql.Rows
	pending  bool  // rows.Next returned true for a row not yet scanned
	advanced bool  // rows was moved to its next result set when the current one ended…
	hasNext  bool  // … and whether there was one
	cells    []any // Scan's destinations
	cellPtrs []any
}

var (
	_ driver.RowsNextResultSet              = (*rows)(nil)
	_ driver.RowsColumnTypeDatabaseTypeName = (*rows)(nil)
	_ driver.RowsColumnTypeLength           = (*rows)(nil)
	_ driver.RowsColumnTypeNullable         = (*rows)(nil)
	_ driver.RowsColumnTypePrecisionScale   = (*rows)(nil)
	_ driver.RowsColumnTypeScanType         = (*rows)(nil)
)

func newRows(s *Set, caller context.Context) *rows {
	r := &rows{set: s, cur: &s.results[0], caller: caller, done: caller.Done()}
	r.bytesLeft = r.cur.byteTotal
	return r
}

// Columns returns a copy of the names: database/sql hands the driver's
// slice to callers of Rows.Columns, who may write to it.
func (r *rows) Columns() []string {
	if r.names == nil {
		r.names = append(make([]string, 0, len(r.cur.names)), r.cur.names...)
	}
	return r.names
}

func (r *rows) Close() error {
	if r.live != nil {
		return r.live.rows.Close()
	}
	return nil
}

func (r *rows) Next(dest []driver.Value) error {
	if r.done != nil {
		select {
		case <-r.done:
			return r.caller.Err()
		default:
		}
	}
	cur := r.cur
	if r.row >= cur.rows {
		if r.live != nil && r.res >= len(r.set.results)-1 {
			return r.nextLive(dest)
		}
		return io.EOF
	}
	n := len(cur.cols)
	values := cur.values[r.row*n : r.row*n+n]
	copy(dest, values)
	for _, c := range cur.bytesCols {
		if b, ok := values[c].([]byte); ok {
			dest[c] = r.copyBytes(b)
		}
	}
	r.row++
	return nil
}

// copyBytes returns this replay's own copy of b, with no spare capacity,
// so that appending to it cannot reach the next copy. The copies come
// from arenas that grow from 512 bytes to 64 KiB, and never past the
// bytes still to copy: a replay that reads one row of a large set does
// not copy the rest.
func (r *rows) copyBytes(b []byte) []byte {
	n := len(b)
	if n == 0 {
		return b[:0:0] // nil stays nil; an empty slice has nothing to change
	}
	if len(r.arena) < n {
		r.chunk = min(max(2*r.chunk, 512), 64<<10)
		r.arena = make([]byte, max(n, min(r.chunk, r.bytesLeft)))
	}
	c := r.arena[:n:n]
	r.arena = r.arena[n:]
	r.bytesLeft -= n
	copy(c, b)
	return c
}

// nextLive reads the next row of an Overflow from the database. The values
// are database/sql's copies (Scan into *any copies []byte), this
// replay's own.
func (r *rows) nextLive(dest []driver.Value) error {
	l := r.live
	if l.advanced {
		return io.EOF
	}
	if l.pending {
		l.pending = false
	} else if !l.rows.Next() {
		if err := l.rows.Err(); err != nil {
			return err
		}
		// database/sql asks HasNextResultSet now: the rows must move on to
		// find out.
		l.advanced = true
		l.hasNext = l.rows.NextResultSet()
		if !l.hasNext {
			if err := l.rows.Err(); err != nil {
				return err
			}
		}
		return io.EOF
	}
	n := len(r.cur.cols)
	if len(l.cells) != n {
		l.cells, l.cellPtrs = make([]any, n), make([]any, n)
		for i := range l.cells {
			l.cellPtrs[i] = &l.cells[i]
		}
	}
	if err := l.rows.Scan(l.cellPtrs...); err != nil {
		return err
	}
	for i, v := range l.cells {
		dest[i] = v
	}
	return nil
}

func (r *rows) HasNextResultSet() bool {
	if r.res+1 < len(r.set.results) {
		return true
	}
	if r.live == nil {
		return false
	}
	return !r.live.advanced || r.live.hasNext
}

func (r *rows) NextResultSet() error {
	if r.res+1 < len(r.set.results) {
		r.res++
		r.cur, r.row, r.names = &r.set.results[r.res], 0, nil
		r.bytesLeft, r.arena, r.chunk = r.cur.byteTotal, nil, 0
		return nil
	}
	l := r.live
	if l == nil {
		return io.EOF
	}
	if l.advanced {
		l.advanced = false
		if !l.hasNext {
			return io.EOF
		}
	} else {
		l.pending = false
		if !l.rows.NextResultSet() {
			if err := l.rows.Err(); err != nil {
				return err
			}
			return io.EOF
		}
	}
	h, err := readHeader(l.rows)
	if err != nil {
		return err
	}
	r.res++
	r.cur, r.row, r.names = &h, 0, nil
	return nil
}

func (r *rows) ColumnTypeDatabaseTypeName(i int) string { return r.cur.cols[i].dbType }
func (r *rows) ColumnTypeScanType(i int) reflect.Type   { return r.cur.cols[i].scanType }

func (r *rows) ColumnTypeLength(i int) (int64, bool) {
	c := &r.cur.cols[i]
	return c.length, c.hasLength
}

func (r *rows) ColumnTypeNullable(i int) (nullable, ok bool) {
	c := &r.cur.cols[i]
	return c.nullable, c.hasNullable
}

func (r *rows) ColumnTypePrecisionScale(i int) (precision, scale int64, ok bool) {
	c := &r.cur.cols[i]
	return c.precision, c.scale, c.hasPrecisionScale
}
