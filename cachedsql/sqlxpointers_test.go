package cachedsql_test

import (
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/dogpile-go/dogpile/cachedsql"
)

// A second audit of the drop-in promise; each test runs the same code on
// plain sqlx and on cachedsql, and failed on cachedsql before its fix.

// The interfaces sqlx's helpers take: code written for *sqlx.DB/*sqlx.Tx
// hands them on, so cachedsql's types must satisfy them (compile-time).
var (
	_ sqlx.Ext                    = (*cachedsql.DB)(nil)
	_ sqlx.ExtContext             = (*cachedsql.DB)(nil)
	_ sqlx.Queryer                = (*cachedsql.DB)(nil)
	_ sqlx.QueryerContext         = (*cachedsql.DB)(nil)
	_ sqlx.Execer                 = (*cachedsql.DB)(nil)
	_ sqlx.Preparer               = (*cachedsql.DB)(nil)
	_ sqlx.PreparerContext        = (*cachedsql.DB)(nil)
	_ sqlx.Ext                    = (*cachedsql.Tx)(nil)
	_ sqlx.ExtContext             = (*cachedsql.Tx)(nil)
	_ sqlx.Preparer               = (*cachedsql.Tx)(nil)
	_ sqlx.QueryerContext         = (*cachedsql.Conn)(nil)
	_ sqlx.ExecerContext          = (*cachedsql.Conn)(nil)
	_ sqlx.PreparerContext        = (*cachedsql.Conn)(nil)
	_ func(*cachedsql.DB) *sql.DB = (*cachedsql.DB).Inner
)

type leafPointers struct {
	ID    *int    `db:"id"`
	Name  *string `db:"name"`
	Price *int    `db:"price"`
}

// TestGetNoRowsAllocatesPointerFields: sqlx's Get finds every field before
// it scans (fieldsByTraversal → reflectx.FieldByIndexes), and that
// allocates every nil pointer on the way, the field's own included; then
// it returns sql.ErrNoRows, leaving the struct's pointer fields non-nil.
// The direct scan allocated only embedded pointers on the way (the fix of
// TestGetNoRowsAllocatesEmbeddedPointers), not the pointer fields
// themselves, so `if u.Name != nil` after ErrNoRows differed.
func TestGetNoRowsAllocatesPointerFields(t *testing.T) {
	db, raw := sqlxPair(t)
	const q = "SELECT id, name, price FROM items WHERE id = $1"
	for _, c := range bothGets(db, raw, q, 99) {
		for pass := range 2 { // a miss, then a hit
			var o leafPointers
			err := c.get(&o)
			if !errors.Is(err, sql.ErrNoRows) {
				t.Fatalf("%s: %v", c.name, err)
			}
			if o.ID == nil || o.Name == nil || o.Price == nil {
				t.Errorf("%s pass %d: %+v after ErrNoRows; sqlx allocates every pointer field", c.name, pass, o)
			}
		}
	}
}

// refuses is a Scanner that always fails.
type refuses struct{}

func (*refuses) Scan(any) error { return errors.New("refused") }

type failsFirst struct {
	ID   refuses `db:"id"`
	Name *string `db:"name"`
}

// TestGetScanErrorAllocatesLaterPointerFields: likewise when a Scan method
// fails on a row: sqlx had allocated the pointer fields of the columns
// after it before scanning, the direct scan left them nil.
func TestGetScanErrorAllocatesLaterPointerFields(t *testing.T) {
	db, raw := sqlxPair(t)
	const q = "SELECT id, name FROM items WHERE id = $1"
	for _, c := range bothGets(db, raw, q, 1) {
		for pass := range 2 { // a miss, then a hit
			var o failsFirst
			if err := c.get(&o); err == nil || !strings.Contains(err.Error(), "refused") {
				t.Fatalf("%s: %v", c.name, err)
			}
			if o.Name == nil {
				t.Errorf("%s pass %d: Name is nil after the Scan error; sqlx allocates it", c.name, pass)
			}
		}
	}
}
