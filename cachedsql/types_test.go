package cachedsql_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite"

	"github.com/dogpile-go/dogpile/cachedsql"
	"github.com/dogpile-go/dogpile/internal/testenv"
)

// Results from the cache are indistinguishable from the database's: a
// table with a column of every common type, read through sqlx alone,
// through cachedsql on a miss, on a hit and with SkipCache, must look the
// same to every way of reading it.

const pgTypesDDL = `
CREATE TABLE types (
	id          integer PRIMARY KEY,
	c_smallint  smallint,
	c_integer   integer,
	c_bigint    bigint,
	c_numeric   numeric(12,4),
	c_real      real,
	c_double    double precision,
	c_text      text,
	c_varchar   varchar(20),
	c_char      char(5),
	c_bytea     bytea,
	c_bool      boolean,
	c_tstz      timestamptz,
	c_ts        timestamp,
	c_date      date,
	c_time      time,
	c_interval  interval,
	c_uuid      uuid,
	c_json      json,
	c_jsonb     jsonb,
	c_inet      inet,
	c_ints      integer[],
	c_texts     text[]
);
INSERT INTO types VALUES
(1, 32767, -2147483648, 9223372036854775807, 12345678.1234, 1.5, 2.718281828459045,
 'héllo, wörld', 'varchar', 'ab', '\x000102ff', true,
 '2024-03-10 01:59:59.123456+05:30', '2024-03-10 12:34:56.789', '2024-02-29', '23:59:59.999999',
 '1 year 2 mons 3 days 04:05:06.789', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
 '{"a": [1, 2.5, "x"]}', '{"b": null, "a": 1}', '192.168.0.1/24', '{1,NULL,3}', '{"a b",NULL,"c,d"}'),
(2, 0, 0, 0, 'NaN', 'NaN', '-Infinity', '', '', '', '\x', false,
 '0001-01-01 00:00:00+00', '1999-12-31 23:59:59', '1970-01-01', '00:00:00', '0', '00000000-0000-0000-0000-000000000000',
 '""', '[]', '::1', '{}', '{}'),
(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
`

// pgTyped are the destinations a program would scan each column of types
// into, in order.
var pgTyped = []func() any{
	func() any { return new(int64) },
	func() any { return new(sql.NullInt16) },
	func() any { return new(sql.NullInt32) },
	func() any { return new(sql.NullInt64) },
	func() any { return new(sql.NullString) },
	func() any { return new(sql.NullFloat64) },
	func() any { return new(*float64) },
	func() any { return new(sql.NullString) },
	func() any { return new(*string) },
	func() any { return new(sql.NullString) },
	func() any { return new([]byte) },
	func() any { return new(sql.NullBool) },
	func() any { return new(sql.NullTime) },
	func() any { return new(*time.Time) },
	func() any { return new(sql.NullTime) },
	func() any { return new(sql.NullString) },
	func() any { return new(sql.NullString) },
	func() any { return new(sql.NullString) },
	func() any { return new(*json.RawMessage) },
	func() any { return new([]byte) },
	func() any { return new(sql.NullString) },
	func() any { return new(sql.NullString) },
	func() any { return new(sql.Null[string]) },
}

// pgTypesRow is a row of types as an sqlx program would declare it.
type pgTypesRow struct {
	ID       int64            `db:"id"`
	Smallint *int16           `db:"c_smallint"`
	Integer  *int32           `db:"c_integer"`
	Bigint   sql.NullInt64    `db:"c_bigint"`
	Numeric  *string          `db:"c_numeric"`
	Real     *float32         `db:"c_real"`
	Double   sql.NullFloat64  `db:"c_double"`
	Text     *string          `db:"c_text"`
	Varchar  sql.NullString   `db:"c_varchar"`
	Char     *string          `db:"c_char"`
	Bytea    []byte           `db:"c_bytea"`
	Bool     *bool            `db:"c_bool"`
	Tstz     *time.Time       `db:"c_tstz"`
	Ts       sql.NullTime     `db:"c_ts"`
	Date     *time.Time       `db:"c_date"`
	Time     *string          `db:"c_time"`
	Interval *string          `db:"c_interval"`
	UUID     *string          `db:"c_uuid"`
	JSON     *json.RawMessage `db:"c_json"`
	JSONB    *[]byte          `db:"c_jsonb"`
	Inet     *string          `db:"c_inet"`
	Ints     *string          `db:"c_ints"`
	Texts    sql.NullString   `db:"c_texts"`
}

const sqliteTypesDDL = `
CREATE TABLE types (
	id        INTEGER PRIMARY KEY,
	c_int     INTEGER,
	c_real    REAL,
	c_text    TEXT,
	c_varchar VARCHAR(10),
	c_blob    BLOB,
	c_bool    BOOLEAN,
	c_dt      DATETIME,
	c_date    DATE,
	c_ts      TIMESTAMP,
	c_numeric NUMERIC,
	c_any
);
INSERT INTO types VALUES
	(1, 9223372036854775807, 1.5, 'ünïcödé', 'short', x'00ff10', 1, '2024-03-10 12:34:56.789', '2024-02-29', '2024-03-10 12:34:56+02:00', 12.5, 'typeless'),
	(2, -9223372036854775808, -0.0, '', '', x'', 0, '2000-01-01T00:00:00Z', '1999-12-31', '1970-01-01 00:00:00', 7, x'01'),
	(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
`

var sqliteTyped = []func() any{
	func() any { return new(int64) },
	func() any { return new(sql.NullInt64) },
	func() any { return new(sql.NullFloat64) },
	func() any { return new(sql.NullString) },
	func() any { return new(*string) },
	func() any { return new([]byte) },
	func() any { return new(sql.NullBool) },
	func() any { return new(sql.NullTime) },
	func() any { return new(*time.Time) },
	func() any { return new(sql.NullTime) },
	func() any { return new(sql.NullFloat64) },
	func() any { return new(sql.NullString) },
}

type sqliteTypesRow struct {
	ID      int64          `db:"id"`
	Int     *int64         `db:"c_int"`
	Real    *float64       `db:"c_real"`
	Text    sql.NullString `db:"c_text"`
	Varchar *string        `db:"c_varchar"`
	Blob    []byte         `db:"c_blob"`
	Bool    *bool          `db:"c_bool"`
	DT      *time.Time     `db:"c_dt"`
	Date    sql.NullTime   `db:"c_date"`
	TS      *time.Time     `db:"c_ts"`
	Numeric *string        `db:"c_numeric"`
	Any     any            `db:"c_any"`
}

// columnType is what a *sql.ColumnType says, each optional part with
// whether the driver gave it.
type columnType struct {
	Name, DatabaseTypeName string
	Length                 int64
	HasLength              bool
	Precision, Scale       int64
	HasDecimalSize         bool
	Nullable, HasNullable  bool
	ScanType               string
}

// observation is everything a program can learn from reading a result.
type observation struct {
	Columns     []string
	ColumnTypes []columnType
	Any         [][]any // each row scanned into *any
	Typed       [][]any // into the typed destinations
	Maps        []map[string]any
	Slices      [][]any
	Structs     any        // []S, by StructScan
	Raw         [][][]byte // into sql.RawBytes, copied before the next Next
	Errors      []string
}

type queryerx interface {
	QueryxContext(ctx context.Context, query string, args ...any) (*cachedsql.Rows, error)
}

// observe reads query every way there is, scanning each row into each kind
// of destination in turn.
func observe[S any](t *testing.T, ctx context.Context, q queryerx, query string, typed []func() any) observation {
	t.Helper()
	rows, err := q.QueryxContext(ctx, query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var o observation
	fail := func(what string, err error) {
		if err != nil {
			o.Errors = append(o.Errors, fmt.Sprintf("row %d, %s: %v", len(o.Any), what, err))
		}
	}
	o.Columns, err = rows.Columns()
	fail("Columns", err)
	cts, err := rows.ColumnTypes()
	fail("ColumnTypes", err)
	for _, ct := range cts {
		c := columnType{Name: ct.Name(), DatabaseTypeName: ct.DatabaseTypeName(), ScanType: fmt.Sprint(ct.ScanType())}
		c.Length, c.HasLength = ct.Length()
		c.Precision, c.Scale, c.HasDecimalSize = ct.DecimalSize()
		c.Nullable, c.HasNullable = ct.Nullable()
		o.ColumnTypes = append(o.ColumnTypes, c)
	}
	n := len(o.Columns)
	if len(typed) != n {
		t.Fatalf("%d typed destinations for %d columns", len(typed), n)
	}
	var structs []S
	for rows.Next() {
		anys, anyPtrs := make([]any, n), make([]any, n)
		for i := range anys {
			anyPtrs[i] = &anys[i]
		}
		fail("Scan(*any)", rows.Scan(anyPtrs...))

		dests, vals := make([]any, n), make([]any, n)
		for i, f := range typed {
			dests[i] = f()
		}
		fail("Scan(typed)", rows.Scan(dests...))
		for i, d := range dests {
			vals[i] = reflect.ValueOf(d).Elem().Interface()
		}

		m := map[string]any{}
		fail("MapScan", rows.MapScan(m))
		sl, err := rows.SliceScan()
		fail("SliceScan", err)
		var s S
		fail("StructScan", rows.StructScan(&s))

		// Last: a RawBytes scan holds the row until the next Next.
		raws, rawPtrs, copies := make([]sql.RawBytes, n), make([]any, n), make([][]byte, n)
		for i := range raws {
			rawPtrs[i] = &raws[i]
		}
		fail("Scan(*sql.RawBytes)", rows.Scan(rawPtrs...))
		for i, r := range raws {
			if r != nil {
				copies[i] = append([]byte{}, r...)
			}
		}

		o.Any, o.Typed, o.Raw = append(o.Any, anys), append(o.Typed, vals), append(o.Raw, copies)
		o.Maps, o.Slices, structs = append(o.Maps, m), append(o.Slices, sl), append(structs, s)
	}
	fail("Err", rows.Err())
	o.Structs = structs
	return o
}

// differences lists where got differs from want. Times must be the same
// instant in the same location (name and offset, and time.UTC or
// time.Local itself where one is); floats the same bits, or both NaN;
// slices and pointers alike nil or not.
func differences(path string, want, got reflect.Value) []string {
	if !want.IsValid() || !got.IsValid() {
		if want.IsValid() != got.IsValid() {
			return []string{fmt.Sprintf("%s: %v, want %v", path, got, want)}
		}
		return nil
	}
	if want.Type() != got.Type() {
		return []string{fmt.Sprintf("%s: a %v, want a %v", path, got.Type(), want.Type())}
	}
	if want.Type() == reflect.TypeFor[time.Time]() {
		w, g := want.Interface().(time.Time), got.Interface().(time.Time)
		wz, wo := w.Zone()
		gz, gofs := g.Zone()
		wl, gl := w.Location(), g.Location()
		sameLoc := wl.String() == gl.String() && (wl == time.UTC) == (gl == time.UTC) && (wl == time.Local) == (gl == time.Local)
		if !w.Equal(g) || !sameLoc || wz != gz || wo != gofs {
			return []string{fmt.Sprintf("%s: %v (location %q), want %v (location %q)", path, g, g.Location(), w, w.Location())}
		}
		return nil
	}
	switch want.Kind() {
	case reflect.Pointer, reflect.Interface:
		if want.IsNil() || got.IsNil() {
			if want.IsNil() != got.IsNil() {
				return []string{fmt.Sprintf("%s: %v, want %v", path, got, want)}
			}
			return nil
		}
		return differences(path, want.Elem(), got.Elem())
	case reflect.Slice:
		if want.IsNil() != got.IsNil() || want.Len() != got.Len() {
			return []string{fmt.Sprintf("%s: %#v, want %#v", path, got, want)}
		}
		fallthrough
	case reflect.Array:
		var d []string
		for i := range want.Len() {
			d = append(d, differences(fmt.Sprintf("%s[%d]", path, i), want.Index(i), got.Index(i))...)
		}
		return d
	case reflect.Map:
		if want.Len() != got.Len() {
			return []string{fmt.Sprintf("%s: %d keys, want %d", path, got.Len(), want.Len())}
		}
		var d []string
		for _, k := range want.MapKeys() {
			d = append(d, differences(fmt.Sprintf("%s[%v]", path, k), want.MapIndex(k), got.MapIndex(k))...)
		}
		return d
	case reflect.Struct:
		var d []string
		for i := range want.NumField() {
			d = append(d, differences(path+"."+want.Type().Field(i).Name, want.Field(i), got.Field(i))...)
		}
		return d
	case reflect.Float32, reflect.Float64:
		w, g := want.Float(), got.Float()
		if math.Float64bits(w) != math.Float64bits(g) && !(math.IsNaN(w) && math.IsNaN(g)) {
			return []string{fmt.Sprintf("%s: %v, want %v", path, g, w)}
		}
		return nil
	case reflect.String:
		if want.String() != got.String() {
			return []string{fmt.Sprintf("%s: %q, want %q", path, got.String(), want.String())}
		}
		return nil
	case reflect.Bool:
		if want.Bool() != got.Bool() {
			return []string{fmt.Sprintf("%s: %v, want %v", path, got.Bool(), want.Bool())}
		}
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if want.Int() != got.Int() {
			return []string{fmt.Sprintf("%s: %d, want %d", path, got.Int(), want.Int())}
		}
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if want.Uint() != got.Uint() {
			return []string{fmt.Sprintf("%s: %d, want %d", path, got.Uint(), want.Uint())}
		}
		return nil
	}
	return []string{fmt.Sprintf("%s: cannot compare a %v", path, want.Type())}
}

func expectObservation(t *testing.T, what string, want, got observation) {
	t.Helper()
	d := differences("", reflect.ValueOf(want), reflect.ValueOf(got))
	if len(d) > 0 {
		t.Errorf("%s differs from sqlx's (%d differences):", what, len(d))
		for _, s := range d[:min(len(d), 15)] {
			t.Errorf("  %s", s)
		}
	}
}

// typeMatrix reads query through sqlx (direct) and through cachedsql on a
// miss, a hit and with SkipCache, and compares what each shows.
func typeMatrix[S any](t *testing.T, db *cachedsql.DB, direct *sqlx.DB, query string, typed []func() any) {
	ctx := context.Background()
	want := observe[S](t, ctx, direct, query, typed)
	if len(want.Any) == 0 {
		t.Fatal("no rows: the matrix proves nothing")
	}
	if len(want.Errors) > 0 {
		t.Logf("errors on sqlx itself, which cachedsql must repeat: %q", want.Errors)
	}
	if err := db.InvalidateAll(ctx); err != nil {
		t.Fatal(err)
	}
	for _, pass := range []struct {
		name    string
		ctx     context.Context
		queries int64 // creations the read must make
	}{
		{"miss", ctx, 1},
		{"hit", ctx, 0},
		{"second hit", ctx, 0},
		{"SkipCache", cachedsql.SkipCache(ctx), 0},
	} {
		t.Run(pass.name, func(t *testing.T) {
			before := created(db)
			got := observe[S](t, pass.ctx, db, query, typed)
			if n := created(db) - before; n != pass.queries {
				t.Errorf("%d results cached, want %d", n, pass.queries)
			}
			expectObservation(t, pass.name, want, got)
		})
	}
}

func TestTypesPostgres(t *testing.T) {
	db, dsn := newDB(t)
	db.MustExec(pgTypesDDL)
	direct, err := sqlx.Connect("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	typeMatrix[pgTypesRow](t, db, direct, "SELECT * FROM types ORDER BY id", pgTyped)
}

func TestTypesSQLite(t *testing.T) {
	dsn := "file:" + filepath.Join(t.TempDir(), "types.db") + "?_pragma=busy_timeout(5000)"
	db, err := cachedsql.Connect("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.MustExec(sqliteTypesDDL)
	direct, err := sqlx.Connect("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	typeMatrix[sqliteTypesRow](t, db, direct, "SELECT * FROM types ORDER BY id", sqliteTyped)
}

// TestScribbledBytesStayPrivate: a caller may write over the []byte and
// sql.RawBytes a read gave it (RawBytes until the next Next); the next
// hit must not see it.
func TestScribbledBytesStayPrivate(t *testing.T) {
	db, _ := newDB(t)
	db.MustExec(pgTypesDDL)
	ctx := context.Background()
	const query = "SELECT * FROM types ORDER BY id"
	scribble := func(t *testing.T) (n int) {
		t.Helper()
		wipe := func(b []byte) {
			for i := range b {
				b[i] = 0xee
			}
			n += len(b)
		}
		rows, err := db.QueryxContext(ctx, query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		for rows.Next() {
			anys, raws, ptrs := make([]any, len(cols)), make([]sql.RawBytes, len(cols)), make([]any, len(cols))
			for i := range anys {
				ptrs[i] = &anys[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var bytea, jsonb []byte
			if err := rows.Scan(new(any), new(any), new(any), new(any), new(any), new(any), new(any), new(any), new(any), new(any),
				&bytea, new(any), new(any), new(any), new(any), new(any), new(any), new(any), new(any), &jsonb, new(any), new(any), new(any)); err != nil {
				t.Fatal(err)
			}
			m := map[string]any{}
			if err := rows.MapScan(m); err != nil {
				t.Fatal(err)
			}
			sl, err := rows.SliceScan()
			if err != nil {
				t.Fatal(err)
			}
			for i := range raws {
				ptrs[i] = &raws[i]
			}
			if err := rows.Scan(ptrs...); err != nil { // last: it holds the row
				t.Fatal(err)
			}
			for i := range cols {
				for _, v := range []any{anys[i], m[cols[i]], sl[i]} {
					if b, ok := v.([]byte); ok {
						wipe(b)
					}
				}
				wipe(raws[i])
			}
			wipe(bytea)
			wipe(jsonb)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if err := db.InvalidateAll(ctx); err != nil {
		t.Fatal(err)
	}
	if n := scribble(t); n == 0 { // on the miss
		t.Fatal("nothing to scribble on: the test proves nothing")
	}
	want := observe[pgTypesRow](t, ctx, db, query, pgTyped)
	direct := observe[pgTypesRow](t, cachedsql.SkipCache(ctx), db, query, pgTyped)
	expectObservation(t, "a hit after the miss's bytes were overwritten", direct, want)
	before := created(db)
	scribble(t) // on a hit
	got := observe[pgTypesRow](t, ctx, db, query, pgTyped)
	if created(db) != before {
		t.Fatal("the reads after the first were not hits")
	}
	expectObservation(t, "a hit after another hit's bytes were overwritten", want, got)
}

func TestTypesSkipCacheIsUncached(t *testing.T) {
	// The matrix's SkipCache pass is the database's answer only if
	// SkipCache really reads the database: a write behind the cache shows.
	db, dsn := newDB(t)
	ctx := context.Background()
	var name string
	_ = db.GetContext(ctx, &name, "SELECT name FROM items WHERE id = 1")
	testenv.Psql(t, dsn, "UPDATE items SET name = 'behind' WHERE id = 1")
	if err := db.GetContext(cachedsql.SkipCache(ctx), &name, "SELECT name FROM items WHERE id = 1"); err != nil || name != "behind" {
		t.Fatalf("SkipCache read = %q, %v", name, err)
	}
}

// TestDifferences checks the comparer the matrix relies on: it must see
// what reflect.DeepEqual would miss or get wrong.
func TestDifferences(t *testing.T) {
	at := time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		want, got any
		differ    bool
	}{
		{"same instant, other location", at, at.In(time.FixedZone("UTC", 0)), true},
		{"same instant, Local and UTC", at.In(time.Local), at, time.Local.String() != "UTC"},
		{"same time", at, at.Add(0), false},
		{"NaN and NaN", math.NaN(), math.NaN(), false},
		{"0 and -0", 0.0, math.Copysign(0, -1), true},
		{"nil and empty bytes", []byte(nil), []byte{}, true},
		{"bytes", []byte{1}, []byte{2}, true},
		{"int64 and int32 in an any", []any{int64(1)}, []any{int32(1)}, true},
		{"maps", map[string]any{"a": "x"}, map[string]any{"a": "y"}, true},
		{"nil and non-nil pointer", (*string)(nil), new(string), true},
		{"structs", sql.NullString{String: "a", Valid: true}, sql.NullString{String: "a", Valid: true}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := differences("", reflect.ValueOf(tc.want), reflect.ValueOf(tc.got))
			if (len(d) > 0) != tc.differ {
				t.Errorf("differences(%#v, %#v) = %q, want differ=%v", tc.want, tc.got, d, tc.differ)
			}
		})
	}
}
