package rowset_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/cachedsql/internal/rowset"
	"github.com/jmoiron/sqlx/reflectx"
)

// The direct scan of Select and Get must give exactly what sqlx gives
// over the replay driver: these tests run both and compare, for every
// kind of source column and every kind of destination field.

type (
	namedString string
	namedInt    int32
	namedUint   uint16
	namedBool   bool
	namedFloat  float64
)

// pickyScanner is an sql.Scanner that refuses "bad" and notes the rest.
type pickyScanner struct{ got string }

func (p *pickyScanner) Scan(src any) error {
	if s, ok := src.(string); ok && s == "bad" {
		return errors.New("picky: bad value")
	}
	if b, ok := src.([]byte); ok {
		p.got = fmt.Sprintf("%T %q", src, b)
		if len(b) > 0 {
			b[0] = 'X' // must not reach the Set
		}
		return nil
	}
	p.got = fmt.Sprintf("%T %v", src, src)
	return nil
}

// Inner is embedded in the test structs, by value and by pointer.
type Inner struct {
	W int64 `db:"w"`
}

var fieldTypes = []reflect.Type{
	reflect.TypeFor[any](),
	reflect.TypeFor[int](), reflect.TypeFor[int8](), reflect.TypeFor[int16](), reflect.TypeFor[int32](), reflect.TypeFor[int64](),
	reflect.TypeFor[uint](), reflect.TypeFor[uint8](), reflect.TypeFor[uint16](), reflect.TypeFor[uint32](), reflect.TypeFor[uint64](),
	reflect.TypeFor[float32](), reflect.TypeFor[float64](), reflect.TypeFor[bool](), reflect.TypeFor[string](),
	reflect.TypeFor[[]byte](), reflect.TypeFor[sql.RawBytes](), reflect.TypeFor[json.RawMessage](), reflect.TypeFor[time.Time](),
	reflect.TypeFor[namedString](), reflect.TypeFor[namedInt](), reflect.TypeFor[namedUint](), reflect.TypeFor[namedBool](), reflect.TypeFor[namedFloat](),
	reflect.TypeFor[*int64](), reflect.TypeFor[*int](), reflect.TypeFor[*int8](), reflect.TypeFor[*uint16](), reflect.TypeFor[*string](), reflect.TypeFor[*[]byte](), reflect.TypeFor[*time.Time](),
	reflect.TypeFor[*bool](), reflect.TypeFor[*float64](), reflect.TypeFor[*any](), reflect.TypeFor[**string](),
	reflect.TypeFor[sql.NullString](), reflect.TypeFor[sql.NullInt64](), reflect.TypeFor[sql.NullInt32](), reflect.TypeFor[sql.NullInt16](),
	reflect.TypeFor[sql.NullByte](), reflect.TypeFor[sql.NullFloat64](), reflect.TypeFor[sql.NullBool](), reflect.TypeFor[sql.NullTime](),
	reflect.TypeFor[sql.Null[string]](), reflect.TypeFor[sql.Null[int64]](), reflect.TypeFor[*sql.NullString](),
	reflect.TypeFor[pickyScanner](), reflect.TypeFor[*pickyScanner](), reflect.TypeFor[recorder](),
	reflect.TypeFor[[]string](), reflect.TypeFor[map[string]any](), reflect.TypeFor[struct{ X int }](),
}

// sourceColumns are columns of one kind of value each, or a mix, with the
// edge values conversions trip on.
func sourceColumns() map[string][]driver.Value {
	return map[string][]driver.Value{
		"small ints":   {int64(0), int64(1), int64(127), int64(-128)},
		"big ints":     {int64(128), int64(-129), int64(1 << 40), int64(math.MaxInt64), int64(math.MinInt64)},
		"negative":     {int64(-1)},
		"uint8s":       {int64(0), int64(1), int64(200), int64(255)},
		"non-negative": {int64(0), int64(300), int64(70000), int64(1 << 40)},
		"ints, NULL":   {int64(7), nil},
		"floats":       {1.5, math.NaN(), math.Inf(-1), math.Copysign(0, -1), 1e300},
		"floats, NULL": {2.5, nil},
		"bools":        {true, false},
		"bools, NULL":  {true, nil},
		"strings":      {"", "abc", "12", "2024-01-01", "true", "bad"},
		"numeric text": {"12", "-3", "1.5"},
		"strings, NULL": {
			"x", nil,
		},
		"bytes":       {[]byte("b"), []byte{}, []byte("12")},
		"bytes, NULL": {[]byte("b"), nil, []byte(nil)},
		"text, bytes": {"s", []byte("b")},
		"times":       {time.Date(2024, 3, 10, 1, 2, 3, 4, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 0, time.Local)},
		"times, NULL": {time.Date(2024, 3, 10, 1, 2, 3, 4, time.UTC), nil},
		"NULLs":       {nil, nil},
		"other":       {int32(5), uint64(math.MaxUint64), float32(2.5)},
		"everything":  {int64(1), 2.5, true, "s", []byte("b"), time.Unix(0, 0), nil},
	}
}

// scanBoth runs f with the direct scan off, then on, and returns both
// destinations and errors, and whether the direct scan ran.
func scanBoth(t *testing.T, newDest func() any, f func(dest any) error) (want, got any, wantErr, gotErr error, direct bool) {
	t.Helper()
	was := rowset.SetDirectScan(false)
	want = newDest()
	wantErr = f(want)
	rowset.SetDirectScan(true)
	before := rowset.DirectScans()
	got = newDest()
	gotErr = f(got)
	direct = rowset.DirectScans() > before
	rowset.SetDirectScan(was)
	return want, got, wantErr, gotErr, direct
}

func TestDirectScanMatchesSqlx(t *testing.T) {
	ctx := context.Background()
	direct, total := 0, 0
	for name, column := range sourceColumns() {
		rows := make([][]driver.Value, len(column))
		for i, v := range column {
			rows[i] = []driver.Value{v, int64(i)}
		}
		db, q := openFake(t, fakeResult{cols: []string{"v", "w"}, rows: rows})
		set := materialize(t, db, q)
		for _, ft := range fieldTypes {
			shapes := map[string]reflect.Type{
				"flat": reflect.StructOf([]reflect.StructField{
					{Name: "V", Type: ft, Tag: `db:"v"`},
					{Name: "W", Type: reflect.TypeFor[int64](), Tag: `db:"w"`},
					{Name: "Unmapped", Type: reflect.TypeFor[string](), Tag: `db:"unmapped"`},
				}),
				"embedded pointer": reflect.StructOf([]reflect.StructField{
					{Name: "V", Type: ft, Tag: `db:"v"`},
					{Name: "Inner", Type: reflect.TypeFor[*Inner](), Anonymous: true},
				}),
				"missing w": reflect.StructOf([]reflect.StructField{
					{Name: "V", Type: ft, Tag: `db:"v"`},
				}),
			}
			for shape, st := range shapes {
				for _, unsafe := range []bool{false, true} {
					label := fmt.Sprintf("%s into %v (%s, unsafe %v)", name, ft, shape, unsafe)
					for _, ptrs := range []bool{false, true} {
						elem := st
						if ptrs {
							elem = reflect.PointerTo(st)
						}
						newDest := func() any {
							// Old elements in the capacity, which each row must not see.
							s := reflect.MakeSlice(reflect.SliceOf(elem), 8, 8)
							if !ptrs {
								for i := range s.Len() {
									fillOld(s.Index(i))
								}
							}
							s = s.Slice(0, 1)
							p := reflect.New(s.Type())
							p.Elem().Set(s)
							return p.Interface()
						}
						want, got, wantErr, gotErr, d := scanBoth(t, newDest, func(dest any) error {
							return rowset.Select(ctx, set, dest, nil, unsafe)
						})
						total++
						if d {
							direct++
						}
						if !sameError(wantErr, gotErr) {
							t.Errorf("Select %s (ptrs %v): error %v, sqlx gives %v", label, ptrs, gotErr, wantErr)
						}
						if !sameValue(want, got) {
							t.Errorf("Select %s (ptrs %v):\n got %+v\nwant %+v", label, ptrs, reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem())
						}
					}

					// Get, into a struct whose fields already hold values.
					newDest := func() any {
						p := reflect.New(st)
						fillOld(p.Elem())
						return p.Interface()
					}
					want, got, wantErr, gotErr, _ := scanBoth(t, newDest, func(dest any) error {
						return rowset.Get(ctx, set, dest, nil, unsafe)
					})
					if !sameError(wantErr, gotErr) {
						t.Errorf("Get %s: error %v, sqlx gives %v", label, gotErr, wantErr)
					}
					if !sameValue(want, got) {
						t.Errorf("Get %s:\n got %+v\nwant %+v", label, got, want)
					}
				}
			}
		}
		if again := materialize(t, db, q); !sameValue(readCells(t, again), readCells(t, set)) {
			t.Errorf("%s: scanning changed the Set", name)
		}
	}
	t.Logf("%d of %d Selects scanned directly", direct, total)
	if direct < total/5 {
		t.Errorf("only %d of %d Selects scanned directly", direct, total)
	}
}

// fillOld gives the fields of struct v that it can values a scan must
// replace or keep, as sqlx would.
func fillOld(v reflect.Value) {
	for i := range v.NumField() {
		f := v.Field(i)
		if !f.CanSet() {
			continue
		}
		switch f.Kind() {
		case reflect.String:
			f.SetString("old")
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			f.SetInt(42)
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			f.SetUint(42)
		case reflect.Float32, reflect.Float64:
			f.SetFloat(4.2)
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Slice:
			if f.Type().Elem().Kind() == reflect.Uint8 {
				f.SetBytes([]byte("old"))
			}
		case reflect.Pointer:
			if f.Type().Elem().Kind() == reflect.Struct {
				f.Set(reflect.New(f.Type().Elem()))
				fillOld(f.Elem())
			}
		}
	}
}

// readCells returns every cell of a replay of set, scanned into *any.
func readCells(t *testing.T, set *rowset.Set) [][]any {
	rows, err := rowset.Query(context.Background(), set)
	if err != nil {
		t.Fatal(err)
	}
	return observe(rows).Rows
}

func TestDirectScanEmptyAndMapper(t *testing.T) {
	ctx := context.Background()
	db, q := openFake(t, fakeResult{cols: []string{"ID", "Name"}, rows: nil})
	empty := materialize(t, db, q)
	type row struct {
		ID   int64  `json:"ID"`
		Name string `json:"Name"`
	}
	m := reflectx.NewMapperFunc("json", strings.ToLower)
	for _, set := range []*rowset.Set{empty} {
		want, got, wantErr, gotErr, d := scanBoth(t, func() any { return &row{ID: 1} }, func(dest any) error {
			return rowset.Get(ctx, set, dest, m, false)
		})
		if !d || !sameError(wantErr, gotErr) || !errors.Is(gotErr, sql.ErrNoRows) || !sameValue(want, got) {
			t.Errorf("Get of empty = %v, %v (direct %v); sqlx gives %v, %v", got, gotErr, d, want, wantErr)
		}
		want, got, wantErr, gotErr, d = scanBoth(t, func() any { s := []row{{ID: 1}}; return &s }, func(dest any) error {
			return rowset.Select(ctx, set, dest, m, false)
		})
		if !d || !sameError(wantErr, gotErr) || !sameValue(want, got) {
			t.Errorf("Select of empty = %v, %v (direct %v); sqlx gives %v, %v", got, gotErr, d, want, wantErr)
		}
	}
}

// TestDirectScanPostgres compares the direct scan with sqlx on the
// PostgreSQL type matrix, into a struct it scans directly.
func TestDirectScanPostgres(t *testing.T) {
	db := openPostgres(t)
	if _, err := db.Exec(typesDDL); err != nil {
		t.Fatal(err)
	}
	type direct struct {
		ID       int              `db:"id"`
		Smallint *int16           `db:"c_smallint"`
		Integer  sql.NullInt64    `db:"c_integer"`
		Bigint   *int64           `db:"c_bigint"`
		Numeric  sql.NullString   `db:"c_numeric"`
		Decimal  *string          `db:"c_decimal"`
		Real     sql.NullFloat64  `db:"c_real"`
		Double   *float64         `db:"c_double"`
		Text     sql.NullString   `db:"c_text"`
		Varchar  *namedString     `db:"c_varchar"`
		Char     any              `db:"c_char"`
		Bytea    []byte           `db:"c_bytea"`
		Bool     sql.NullBool     `db:"c_bool"`
		Tstz     sql.NullTime     `db:"c_tstz"`
		Ts       *time.Time       `db:"c_ts"`
		Date     sql.NullTime     `db:"c_date"`
		Time     sql.NullString   `db:"c_time"`
		Interval sql.Null[string] `db:"c_interval"`
		UUID     *pickyScanner    `db:"c_uuid"`
		JSON     []byte           `db:"c_json"`
		JSONB    any              `db:"c_jsonb"`
		Inet     sql.NullString   `db:"c_inet"`
		Ints     sql.NullString   `db:"c_ints"`
		Texts    *[]byte          `db:"c_texts"`
	}
	set := materialize(t, db, "SELECT * FROM types ORDER BY id")
	for _, p := range paths(t, set) {
		want, got, wantErr, gotErr, d := scanBoth(t, func() any { return new([]direct) }, func(dest any) error {
			return rowset.Select(context.Background(), p.set, dest, nil, false)
		})
		if !d {
			t.Errorf("%s: the Select was not scanned directly", p.name)
		}
		if wantErr != nil || gotErr != nil || !sameValue(want, got) {
			t.Errorf("%s: Select = %+v, %v\nsqlx gives %+v, %v", p.name, got, gotErr, want, wantErr)
		}
	}
}
