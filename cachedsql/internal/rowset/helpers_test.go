package rowset_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/cachedsql/internal/rowset"
)

// materialize runs query on db and materializes it, with no limits.
func materialize(t testing.TB, db *sql.DB, query string, args ...any) *rowset.Set {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("query %q: %v", query, err)
	}
	set, over, err := rowset.Materialize(rows, rowset.Limits{})
	if err != nil || over != nil {
		t.Fatalf("Materialize(%q) = overflow %v, %v", query, over, err)
	}
	return set
}

// roundTrip returns set as a bytes store gives it back.
func roundTrip(t testing.TB, set *rowset.Set) *rowset.Set {
	t.Helper()
	b, err := set.MarshalBinary()
	if err != nil {
		t.Fatalf("MarshalBinary: %v", err)
	}
	got, err := rowset.Decode(b)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return got
}

// paths returns set as each kind of store serves it: as the object
// itself (memory) and through the binary encoding (bytes).
func paths(t testing.TB, set *rowset.Set) []struct {
	name string
	set  *rowset.Set
} {
	return []struct {
		name string
		set  *rowset.Set
	}{{"memory", set}, {"bytes", roundTrip(t, set)}}
}

// sameValue is reflect.DeepEqual, except that floats are equal when their
// bits are (NaN included) and times when they have the same instant,
// location name and zone: a decoded time's *time.Location is an equal
// location, not the same pointer, for named zones.
func sameValue(a, b any) bool {
	return sameReflect(reflect.ValueOf(a), reflect.ValueOf(b))
}

var timeType = reflect.TypeFor[time.Time]()

func sameReflect(a, b reflect.Value) bool {
	if a.IsValid() != b.IsValid() {
		return false
	}
	if !a.IsValid() {
		return true
	}
	if a.Type() != b.Type() {
		return false
	}
	if a.Type() == timeType {
		ta, tb := a.Interface().(time.Time), b.Interface().(time.Time)
		na, oa := ta.Zone()
		nb, ob := tb.Zone()
		return ta.Equal(tb) && ta.Location().String() == tb.Location().String() && na == nb && oa == ob &&
			(ta.Location() == time.Local) == (tb.Location() == time.Local) &&
			(ta.Location() == time.UTC) == (tb.Location() == time.UTC)
	}
	switch a.Kind() {
	case reflect.Float32, reflect.Float64:
		return math.Float64bits(a.Float()) == math.Float64bits(b.Float()) ||
			(a.Kind() == reflect.Float32 && math.Float32bits(float32(a.Float())) == math.Float32bits(float32(b.Float())))
	case reflect.Interface, reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameReflect(a.Elem(), b.Elem())
	case reflect.Slice:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false
		}
		fallthrough
	case reflect.Array:
		for i := range a.Len() {
			if !sameReflect(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Struct:
		for i := range a.NumField() {
			if !sameReflect(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	}
	if a.CanInterface() {
		return reflect.DeepEqual(a.Interface(), b.Interface())
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// observation is everything a caller can see of a result through
// database/sql, row by row.
type observation struct {
	Columns     []string
	ColumnTypes []*sql.ColumnType
	Rows        [][]any  // scanned into *any
	Typed       []string // every column scanned into every kind of destination
	Err         error
}

// destinations are the kinds of destination database/sql scans into,
// but sql.RawBytes: a Scan into one holds the row, so that the row cannot
// be scanned again, and observe scans into RawBytes last.
var destinations = []struct {
	name string
	make func() any
}{
	{"*any", func() any { return new(any) }},
	{"*int", func() any { return new(int) }},
	{"*int16", func() any { return new(int16) }},
	{"*int32", func() any { return new(int32) }},
	{"*int64", func() any { return new(int64) }},
	{"*uint64", func() any { return new(uint64) }},
	{"*float32", func() any { return new(float32) }},
	{"*float64", func() any { return new(float64) }},
	{"*bool", func() any { return new(bool) }},
	{"*string", func() any { return new(string) }},
	{"*[]byte", func() any { return new([]byte) }},
	{"*time.Time", func() any { return new(time.Time) }},
	{"*sql.NullString", func() any { return new(sql.NullString) }},
	{"*sql.NullInt64", func() any { return new(sql.NullInt64) }},
	{"*sql.NullFloat64", func() any { return new(sql.NullFloat64) }},
	{"*sql.NullBool", func() any { return new(sql.NullBool) }},
	{"*sql.NullTime", func() any { return new(sql.NullTime) }},
	{"*sql.Null[string]", func() any { return new(sql.Null[string]) }},
	{"*stringer", func() any { return new(stringer) }},
	{"**string", func() any { return new(*string) }},
	{"*recorder", func() any { return new(recorder) }},
}

// stringer is a named type over string, scanned by reflection.
type stringer string

// recorder is an sql.Scanner that notes what it was given.
type recorder struct{ got string }

func (r *recorder) Scan(src any) error {
	r.got = fmt.Sprintf("%T %s", src, describe(src))
	return nil
}

// describe prints v (a destination, dereferenced) so that equal
// observations print alike: floats by their bits, times with their
// location.
func describe(v any) string {
	switch v := v.(type) {
	case float64:
		return fmt.Sprintf("%v(%#x)", v, math.Float64bits(v))
	case float32:
		return fmt.Sprintf("%v(%#x)", v, math.Float32bits(v))
	case time.Time:
		name, off := v.Zone()
		return fmt.Sprintf("%s loc=%q zone=%s%+d", v.Format(time.RFC3339Nano), v.Location(), name, off)
	case *string:
		if v == nil {
			return "(*string)(nil)"
		}
		return "&" + describe(*v)
	case sql.NullFloat64:
		return fmt.Sprintf("NullFloat64{%s %v}", describe(v.Float64), v.Valid)
	case sql.NullTime:
		return fmt.Sprintf("NullTime{%s %v}", describe(v.Time), v.Valid)
	case recorder:
		return "recorder{" + v.got + "}"
	}
	return fmt.Sprintf("%#v", v)
}

// observe reads rows to the end the way a caller may: Columns and
// ColumnTypes first, then each row into *any and, column by column, into
// every kind of destination (database/sql lets a row be scanned again),
// and last, all columns into sql.RawBytes.
func observe(rows *sql.Rows) observation {
	defer rows.Close()
	return observeResult(rows)
}

// observeResult is observe without closing rows, which may hold further
// result sets.
func observeResult(rows *sql.Rows) observation {
	var o observation
	var err error
	if o.Columns, err = rows.Columns(); err != nil {
		o.Err = err
		return o
	}
	if o.ColumnTypes, err = rows.ColumnTypes(); err != nil {
		o.Err = err
		return o
	}
	n := len(o.Columns)
	for r := 0; rows.Next(); r++ {
		cells := make([]any, n)
		ptrs := make([]any, n)
		for i := range cells {
			ptrs[i] = &cells[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			o.Err = err
			return o
		}
		o.Rows = append(o.Rows, cells)
		for c := range n {
			for _, d := range destinations {
				dests := make([]any, n)
				for i := range dests {
					dests[i] = new(any)
				}
				dests[c] = d.make()
				err := rows.Scan(dests...)
				o.Typed = append(o.Typed, fmt.Sprintf("row %d, column %d %s into %s: %s, err=%v",
					r, c, o.Columns[c], d.name, describe(reflect.ValueOf(dests[c]).Elem().Interface()), err))
			}
		}
		raw := make([]sql.RawBytes, n)
		for i := range raw {
			ptrs[i] = &raw[i]
		}
		err := rows.Scan(ptrs...)
		o.Typed = append(o.Typed, fmt.Sprintf("row %d into sql.RawBytes: %#v, err=%v", r, raw, err))
	}
	o.Err = rows.Err()
	return o
}

// compareObservations fails t where got differs from want.
func compareObservations(t *testing.T, want, got observation) {
	t.Helper()
	if !reflect.DeepEqual(want.Columns, got.Columns) {
		t.Errorf("Columns = %q, want %q", got.Columns, want.Columns)
	}
	if len(want.ColumnTypes) != len(got.ColumnTypes) {
		t.Fatalf("%d ColumnTypes, want %d", len(got.ColumnTypes), len(want.ColumnTypes))
	}
	for i, w := range want.ColumnTypes {
		if g := got.ColumnTypes[i]; !reflect.DeepEqual(w, g) {
			t.Errorf("ColumnTypes[%d] = %s, want %s", i, describeColumnType(g), describeColumnType(w))
		}
	}
	if len(want.Rows) != len(got.Rows) {
		t.Fatalf("%d rows, want %d", len(got.Rows), len(want.Rows))
	}
	for r := range want.Rows {
		for c := range want.Rows[r] {
			if w, g := want.Rows[r][c], got.Rows[r][c]; !sameValue(w, g) {
				t.Errorf("row %d column %s: scanned into *any %T %s, want %T %s", r, want.Columns[c], g, describe(g), w, describe(w))
			}
		}
	}
	if len(want.Typed) != len(got.Typed) {
		t.Fatalf("%d typed scans, want %d", len(got.Typed), len(want.Typed))
	}
	for i := range want.Typed {
		if want.Typed[i] != got.Typed[i] {
			t.Errorf("scan: got  %s\n            want %s", got.Typed[i], want.Typed[i])
		}
	}
	if !sameError(want.Err, got.Err) {
		t.Errorf("Err = %v, want %v", got.Err, want.Err)
	}
}

func describeColumnType(ct *sql.ColumnType) string {
	l, lok := ct.Length()
	p, s, psok := ct.DecimalSize()
	n, nok := ct.Nullable()
	return fmt.Sprintf("{%s %s length=%d,%v decimal=%d,%d,%v nullable=%v,%v scan=%v}",
		ct.Name(), ct.DatabaseTypeName(), l, lok, p, s, psok, n, nok, ct.ScanType())
}

func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Error() == b.Error() || errors.Is(a, b)
}

// compareReplay runs query directly, and replays a materialization of it
// from each kind of store, and compares what a caller sees.
func compareReplay(t *testing.T, db *sql.DB, query string, args ...any) *rowset.Set {
	t.Helper()
	ctx := context.Background()
	direct, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		t.Fatalf("query %q: %v", query, err)
	}
	want := observe(direct)
	if want.Err != nil {
		t.Fatalf("reading %q directly: %v", query, want.Err)
	}
	set := materialize(t, db, query, args...)
	for _, p := range paths(t, set) {
		t.Run(p.name, func(t *testing.T) {
			rows, err := rowset.Query(ctx, p.set)
			if err != nil {
				t.Fatal(err)
			}
			compareObservations(t, want, observe(rows))
		})
	}
	return set
}
