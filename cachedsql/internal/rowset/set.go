package rowset

import (
	"database/sql"
	"database/sql/driver"
	"reflect"
	"sync/atomic"
	"time"
)

// Set is a materialized query result: for each result set of the query,
// its columns (names and type information) and every row, as the exact
// driver values the driver produced. Make one with [Materialize] or
// [Decode]; replay it with [Query], [Queryx], [Get], [Select], [QueryRow]
// or [QueryRowx].
//
// A Set never changes once made, and replays copy what a caller could
// change, so it is safe for concurrent use by multiple goroutines and can
// be shared by any number of replays and cache readers at once.
//
// The zero Set is a result with no result sets; it is not useful.
type Set struct {
	results []result // one per result set of the query, at least one
	size    int      // Size's estimate

	// plans caches the direct scan's plans for the first result set
	// (see fastscan.go), copy-on-write.
	plans atomic.Pointer[[]cachedPlan]

	// over holds, for a [TooLarge] marker, the limits the result was over.
	over Limits
}

// result is one result set: its columns and its rows.
type result struct {
	cols   []column
	names  []string       // cols' names, which each replay's Columns copies
	values []driver.Value // row-major: row i is values[i*len(cols) : (i+1)*len(cols)]
	rows   int            // rows, kept apart from values: a result with no columns can have rows

	// kinds holds, for each column, the kinds of value its cells hold,
	// by which a scan plan knows in advance that no conversion can fail.
	// bytesCols lists the columns with at least one []byte cell, which a
	// replay must copy; byteTotal is the sum of those cells' lengths.
	kinds     []kindSet
	bytesCols []int
	byteTotal int
}

// kindSet is a set of the Go types of driver values.
type kindSet uint8

const (
	kindNil kindSet = 1 << iota
	kindInt64
	kindFloat64
	kindBool
	kindBytes
	kindString
	kindTime
	kindOther
)

func kindOf(v driver.Value) kindSet {
	switch v.(type) {
	case nil:
		return kindNil
	case int64:
		return kindInt64
	case float64:
		return kindFloat64
	case bool:
		return kindBool
	case []byte:
		return kindBytes
	case string:
		return kindString
	case time.Time:
		return kindTime
	}
	return kindOther
}

// index computes r's kinds and bytesCols from its values.
func (r *result) index() {
	n := len(r.cols)
	r.kinds = make([]kindSet, n)
	for i, v := range r.values {
		r.kinds[i%n] |= kindOf(v)
	}
	r.bytesCols = nil
	for c, k := range r.kinds {
		if k&kindBytes != 0 {
			r.bytesCols = append(r.bytesCols, c)
		}
	}
}

// column is what database/sql's ColumnType reported for a column, with the
// has… flags that say whether the driver gave the value at all.
type column struct {
	name              string
	dbType            string // DatabaseTypeName; "" when the driver gives none
	length            int64
	hasLength         bool
	precision, scale  int64
	hasPrecisionScale bool
	nullable          bool
	hasNullable       bool
	scanType          reflect.Type // as database/sql reported it; may be nil
}

// columnOf captures ct.
func columnOf(ct *sql.ColumnType) column {
	c := column{name: ct.Name(), dbType: ct.DatabaseTypeName(), scanType: ct.ScanType()}
	c.length, c.hasLength = ct.Length()
	c.precision, c.scale, c.hasPrecisionScale = ct.DecimalSize()
	c.nullable, c.hasNullable = ct.Nullable()
	return c
}

// TooLarge returns a marker set, with no result sets, that a cache keeps
// in place of a read's result when the result was over lim: a read that
// finds it runs on the database at once, instead of reading the result a
// second time only to drop it again. Nothing but IsTooLarge, TooLargeFor,
// Size, Rows and the encoding may be called on it (a replay fails).
func TooLarge(lim Limits) *Set { return &Set{size: sizeSlice, over: lim} }

// IsTooLarge reports whether s is a [TooLarge] marker.
func (s *Set) IsTooLarge() bool { return len(s.results) == 0 }

// TooLargeFor reports whether s is a [TooLarge] marker that still holds
// under lim: the result was over limits no larger than lim (0 meaning no
// limit). Under larger limits, the result may fit.
func (s *Set) TooLargeFor(lim Limits) bool {
	return s.IsTooLarge() && within(lim.MaxRows, s.over.MaxRows) && within(lim.MaxBytes, s.over.MaxBytes)
}

// within reports whether limit a is no larger than b, 0 being no limit.
func within(a, b int) bool { return b == 0 || (a != 0 && a <= b) }

// Size returns an estimate, in bytes, of the memory the set holds: what
// [Limits.MaxBytes] is compared with, and what a cache can weigh entries
// by. The binary encoding is usually smaller.
func (s *Set) Size() int { return s.size }

// Rows returns the number of rows in the set, over all its result sets.
func (s *Set) Rows() int {
	n := 0
	for i := range s.results {
		n += s.results[i].rows
	}
	return n
}

// Estimated sizes, for Size: an interface value, and the headers of a
// string, a slice and a time.Time.
const (
	sizeIface  = 16
	sizeString = 16
	sizeSlice  = 24
	sizeTime   = 24
	sizeColumn = 112
)

// cellSize estimates the memory a cell holds.
func cellSize(v driver.Value) int {
	switch v := v.(type) {
	case nil, bool:
		return sizeIface
	case int64, float64:
		return sizeIface + 8
	case string:
		return sizeIface + sizeString + len(v)
	case []byte:
		return sizeIface + sizeSlice + len(v)
	case time.Time:
		return sizeIface + sizeTime
	default:
		return sizeIface + int(reflect.TypeOf(v).Size())
	}
}

// columnsSize estimates the memory a result's column descriptions hold.
func columnsSize(cols []column) int {
	n := 0
	for i := range cols {
		n += sizeColumn + len(cols[i].name) + len(cols[i].dbType)
	}
	return n
}
