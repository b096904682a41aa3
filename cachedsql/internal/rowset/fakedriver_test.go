package rowset_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync"
	"testing"
)

// The fake driver answers a query by name with results a test registered:
// several result sets, rows of any driver values, an error part-way. It
// stands for drivers that do what pgx and SQLite do not (multiple result
// sets, odd values); real databases are tested against the real thing.

type fakeResult struct {
	cols     []string
	dbTypes  []string // nil: the rows do not implement the column type interfaces
	rows     [][]driver.Value
	errAfter int // > 0: Next fails after this many rows
}

var errFake = errors.New("fake: connection lost")

var (
	fakeMu      sync.Mutex
	fakeQueries = map[string][]fakeResult{}
	fakeSeq     int
)

func init() { sql.Register("rowsetfake", fakeDriver{}) }

// openFake registers results under a fresh name and returns a DB and the
// query that answers with them.
func openFake(t testing.TB, results ...fakeResult) (*sql.DB, string) {
	t.Helper()
	fakeMu.Lock()
	fakeSeq++
	q := fmt.Sprintf("q%d", fakeSeq)
	fakeQueries[q] = results
	fakeMu.Unlock()
	db, err := sql.Open("rowsetfake", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, q
}

type fakeDriver struct{}

func (fakeDriver) Open(string) (driver.Conn, error) { return fakeConn{}, nil }

type fakeConn struct{}

func (fakeConn) Prepare(string) (driver.Stmt, error) { return nil, errors.New("fake: no statements") }
func (fakeConn) Close() error                        { return nil }
func (fakeConn) Begin() (driver.Tx, error)           { return nil, errors.New("fake: no transactions") }

func (fakeConn) QueryContext(_ context.Context, q string, _ []driver.NamedValue) (driver.Rows, error) {
	fakeMu.Lock()
	res, ok := fakeQueries[q]
	fakeMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("fake: no query %q", q)
	}
	if res[0].dbTypes == nil {
		return &fakeRows{results: res}, nil
	}
	return &fakeTypedRows{fakeRows{results: res}}, nil
}

type fakeRows struct {
	results []fakeResult
	res     int
	row     int
}

func (r *fakeRows) Columns() []string { return r.results[r.res].cols }
func (r *fakeRows) Close() error      { return nil }

func (r *fakeRows) Next(dest []driver.Value) error {
	cur := &r.results[r.res]
	if cur.errAfter > 0 && r.row == cur.errAfter {
		return errFake
	}
	if r.row >= len(cur.rows) {
		return io.EOF
	}
	copy(dest, cur.rows[r.row])
	r.row++
	return nil
}

func (r *fakeRows) HasNextResultSet() bool { return r.res+1 < len(r.results) }

func (r *fakeRows) NextResultSet() error {
	if r.res+1 >= len(r.results) {
		return io.EOF
	}
	r.res++
	r.row = 0
	return nil
}

// fakeTypedRows adds column types: a made-up database type name, a length
// for the first column, decimal size for the second, nullability for the
// third, and each column's scan type as the Go type of its first value.
type fakeTypedRows struct{ fakeRows }

func (r *fakeTypedRows) ColumnTypeDatabaseTypeName(i int) string {
	return r.results[r.res].dbTypes[i]
}

func (r *fakeTypedRows) ColumnTypeLength(i int) (int64, bool) { return 40 + int64(i), i == 0 }

func (r *fakeTypedRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	return 12, 4, i == 1
}

func (r *fakeTypedRows) ColumnTypeNullable(i int) (bool, bool) { return i%2 == 0, i == 2 }

func (r *fakeTypedRows) ColumnTypeScanType(i int) reflect.Type {
	cur := &r.results[r.res]
	if len(cur.rows) == 0 || cur.rows[0][i] == nil {
		return reflect.TypeFor[any]()
	}
	return reflect.TypeOf(cur.rows[0][i])
}
