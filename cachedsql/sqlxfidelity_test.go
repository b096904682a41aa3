package cachedsql_test

import (
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/dogpile-go/dogpile/cachedsql"
	"github.com/dogpile-go/dogpile/region"
)

// Differences from sqlx found in an audit (helper) of the drop-in
// promise; each test runs the same code on plain sqlx where it can, and
// failed on cachedsql before its fix.

// sqlxPair opens the test database through cachedsql and through plain
// sqlx on pgx (newSurface's two views).
func sqlxPair(t *testing.T) (*cachedsql.DB, *sqlx.DB) {
	t.Helper()
	s := newSurface(t)
	return s.db, s.raw
}

// getter is a Get of one query through sqlx or through cachedsql.
type getter struct {
	name string
	get  func(dest any) error
}

// bothGets returns q's Get with arg through sqlx (raw) and through
// cachedsql (db), to run the same code on both.
func bothGets(db *cachedsql.DB, raw *sqlx.DB, q string, arg any) []getter {
	return []getter{
		{"sqlx", func(d any) error { return raw.Get(d, q, arg) }},
		{"cachedsql", func(d any) error { return db.Get(d, q, arg) }},
	}
}

type wideRow struct {
	ID    int    `db:"id"`
	Name  string `db:"name"`
	Extra string `db:"extra"` // no such column in the query
}

// TestSelectIntoAReusedSlice: sqlx's Select appends a
// fresh zero struct per row, so fields the query does not name are zero.
// On a cache hit cachedsql's direct scan grows the caller's slice with
// reflect.Value.Grow, which keeps the old elements, and never zeroes them.
func TestSelectIntoAReusedSlice(t *testing.T) {
	db, raw := sqlxPair(t)
	const q = "SELECT id, name FROM items ORDER BY id" // 3 rows
	run := func(name string, sel func(dest any) error) {
		for pass := range 2 { // a miss, then a hit
			dest := []wideRow{{ID: 100, Name: "old", Extra: "stale"}} // len 1, cap 1 < 3 rows
			if err := sel(&dest); err != nil {
				t.Fatal(err)
			}
			for i, w := range dest {
				if w.Extra != "" {
					t.Errorf("%s pass %d: row %d = %+v, want Extra == \"\" as sqlx gives", name, pass, i, w)
				}
			}
		}
	}
	run("sqlx", func(d any) error { return raw.Select(d, q) })
	run("cachedsql", func(d any) error { return db.Select(d, q) })
}

// TestPreparexKeepsMapperAndUnsafe: sqlx.Preparex(p, q) gives
// the Stmt p's mapper and Unsafe setting when p is a *sqlx.DB or *sqlx.Tx
// (mapperFor, isUnsafe). cachedsql.Preparex is sqlx.Preparex, which does
// not know *cachedsql.DB/*cachedsql.Tx: the Stmt gets sqlx's default
// mapper and is never unsafe.
func TestPreparexKeepsMapperAndUnsafe(t *testing.T) {
	db, raw := sqlxPair(t)
	const q = "SELECT id, name, price FROM items WHERE id = $1"
	type onlyID struct {
		ID int `db:"id"`
	}
	type upper struct {
		ID   int
		NAME string
	}
	check := func(name string, unsafeP, upperP cachedsql.Preparer) {
		t.Helper()
		for pass := range 2 {
			s, err := cachedsql.Preparex(unsafeP, q)
			if err != nil {
				t.Fatal(err)
			}
			var o onlyID
			if err := s.Get(&o, 1); err != nil || o.ID != 1 {
				t.Errorf("%s pass %d: Preparex on an Unsafe DB, Get = %+v, %v; want {ID:1}, <nil>", name, pass, o, err)
			}
			s.Close()
			s, err = cachedsql.Preparex(upperP, `SELECT id AS "ID", name AS "NAME" FROM items WHERE id = $1`)
			if err != nil {
				t.Fatal(err)
			}
			var u upper
			if err := s.Get(&u, 1); err != nil || u.NAME != "apple" {
				t.Errorf("%s pass %d: Preparex on a DB with MapperFunc(ToUpper), Get = %+v, %v; want {ID:1 NAME:apple}", name, pass, u, err)
			}
			s.Close()
		}
	}
	rawUpper := sqlx.NewDb(raw.DB, "pgx")
	rawUpper.MapperFunc(strings.ToUpper)
	check("sqlx", raw.Unsafe(), rawUpper)
	dbUpper := db.Unsafe() // a copy, so that MapperFunc leaves db alone
	dbUpper.MapperFunc(strings.ToUpper)
	check("cachedsql", db.Unsafe(), dbUpper)
}

// TestNewDbWithBadOptionFailsPlainly: NewDb promises that options that
// cannot work make every use of the DB fail with an error, from its first
// Ping or query (sqlx.NewDb cannot fail, so a program has no error to
// check). Get and Select dereference the DB's nil engine instead.
func TestNewDbWithBadOptionFailsPlainly(t *testing.T) {
	_, raw := sqlxPair(t)
	db := cachedsql.NewDb(raw.DB, "pgx", cachedsql.WithRegion(region.New("not-configured")))
	if err := db.Ping(); !errors.Is(err, cachedsql.ErrBadOption) {
		t.Fatalf("Ping = %v, want ErrBadOption", err)
	}
	for name, f := range map[string]func() error{
		"Get":    func() error { var n int; return db.Get(&n, "SELECT 1") },
		"Select": func() error { var n []int; return db.Select(&n, "SELECT 1") },
	} {
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("%s panicked: %v; want an ErrBadOption error", name, p)
				}
			}()
			if err := f(); !errors.Is(err, cachedsql.ErrBadOption) {
				t.Errorf("%s = %v, want ErrBadOption", name, err)
			}
		}()
	}
}

// TestStructScanUsesNameMapper: a program sets sqlx.NameMapper
// and calls sqlx.StructScan on *sql.Rows, which maps with it. After the
// import change it sets cachedsql.NameMapper and calls
// cachedsql.StructScan, which is sqlx.StructScan with sqlx's mapper:
// cachedsql.NameMapper is ignored.
func TestStructScanUsesNameMapper(t *testing.T) {
	db, raw := sqlxPair(t)
	type row struct {
		ID   int
		Name string
	}
	const q = `SELECT id AS "ID", name AS "NAME" FROM items WHERE id = 1`
	oldSqlx, oldOurs := sqlx.NameMapper, cachedsql.NameMapper
	defer func() { sqlx.NameMapper, cachedsql.NameMapper = oldSqlx, oldOurs }()

	sqlx.NameMapper = strings.ToUpper
	rows, err := raw.DB.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	var want []row
	if err := sqlx.StructScan(rows, &want); err != nil {
		t.Fatalf("sqlx: %v", err)
	}
	sqlx.NameMapper = oldSqlx

	cachedsql.NameMapper = strings.ToUpper
	rows, err = db.DB.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	var got []row
	if err := cachedsql.StructScan(rows, &got); err != nil || len(got) != 1 || got[0] != want[0] {
		t.Errorf("cachedsql.StructScan with cachedsql.NameMapper = ToUpper: %+v, %v; sqlx gives %+v", got, err, want)
	}
}

type EmbeddedPrice struct {
	Price sql.NullString `db:"price"`
}

type outerRow struct {
	ID   int    `db:"id"`
	Name string `db:"name"`
	*EmbeddedPrice
}

// TestGetNoRowsAllocatesEmbeddedPointers: sqlx's Get finds every field before
// it scans (fieldsByTraversal), allocating nil embedded pointers, and then
// returns sql.ErrNoRows; the direct scan returns sql.ErrNoRows first.
func TestGetNoRowsAllocatesEmbeddedPointers(t *testing.T) {
	db, raw := sqlxPair(t)
	const q = "SELECT id, name, price FROM items WHERE id = $1"
	for _, c := range bothGets(db, raw, q, 99) {
		for pass := range 2 {
			var o outerRow
			err := c.get(&o)
			if !errors.Is(err, sql.ErrNoRows) {
				t.Fatalf("%s: %v", c.name, err)
			}
			if o.EmbeddedPrice == nil {
				t.Errorf("%s pass %d: the embedded pointer is nil after ErrNoRows; sqlx allocates it", c.name, pass)
			}
		}
	}
}
