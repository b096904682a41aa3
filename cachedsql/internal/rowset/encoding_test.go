package rowset_test

import (
	"bytes"
	"context"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/cachedsql/internal/rowset"
	"github.com/dogpile-go/dogpile/serializer"
)

// everyValue is a row of every value type the encoding carries, in every
// shape that must stay apart.
func everyValue(t testing.TB) []driver.Value {
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	return []driver.Value{
		nil,
		int64(0), int64(-1), int64(math.MaxInt64), int64(math.MinInt64), int64(255), int64(256),
		0.0, math.Copysign(0, -1), math.NaN(), math.Float64frombits(0x7ff8000000000001), math.Inf(1), math.Inf(-1),
		math.SmallestNonzeroFloat64, math.MaxFloat64,
		true, false,
		"", "a", "ünïcödé ✓", "\xff\xfe not utf-8", strings.Repeat("long ", 100),
		[]byte(nil), []byte{}, []byte{0}, []byte("bytes"),
		time.Time{},
		time.Date(2024, 3, 10, 1, 59, 59, 123456789, time.UTC),
		time.Date(2024, 3, 10, 1, 59, 59, 1, time.Local),
		time.Date(2024, 3, 10, 3, 0, 0, 0, newYork), // just after the DST change
		time.Date(1850, 1, 1, 0, 0, 0, 0, newYork),  // LMT
		time.Date(2024, 7, 1, 0, 0, 0, 0, kolkata),
		time.Date(2024, 7, 1, 0, 0, 0, 0, kolkata), // a location used twice
		time.Date(2024, 7, 1, 0, 0, 0, 0, time.FixedZone("", 3600)),
		time.Date(2024, 7, 1, 0, 0, 0, 0, time.FixedZone("XYZ", -1800)),
		time.Date(2024, 7, 1, 0, 0, 0, 0, time.FixedZone("UTC", 0)),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(-4712, 1, 1, 0, 0, 0, 0, time.UTC),
		int(-7), int8(-8), int16(-16), int32(-32), uint(7), uint8(8), uint16(16), uint32(32), uint64(math.MaxUint64),
		float32(1.5), float32(math.Inf(-1)),
	}
}

func TestEncodingRoundTrip(t *testing.T) {
	row := everyValue(t)
	cols := make([]string, len(row))
	for i := range cols {
		cols[i] = "c" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
	}
	db, q := openFake(t, fakeResult{cols: cols, rows: [][]driver.Value{row, row}})
	set := materialize(t, db, q)
	b, err := set.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := rowset.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := rowset.Query(context.Background(), got)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for r := 0; rows.Next(); r++ {
		cells := make([]any, len(row))
		ptrs := make([]any, len(row))
		for i := range cells {
			ptrs[i] = &cells[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, want := range row {
			if !sameValue(want, cells[i]) {
				t.Errorf("row %d cell %d: %T %s, want %T %s", r, i, cells[i], describe(cells[i]), want, describe(want))
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	// The encoding is stable: encoding the decoded set gives the same bytes.
	again, err := got.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, again) {
		t.Error("encoding a decoded set gives other bytes")
	}
	if got.Size() != set.Size() {
		t.Errorf("decoded Size() = %d, want %d", got.Size(), set.Size())
	}
	if len(b) >= set.Size() {
		t.Errorf("encoding takes %d bytes, Size() says the set holds %d", len(b), set.Size())
	}
}

func TestEncodingUnsupported(t *testing.T) {
	type point struct{ X, Y int }
	tests := []struct {
		name  string
		value driver.Value
		want  string
	}{
		{"struct", point{1, 2}, "rowset_test.point"},
		{"pointer", new(int64), "*int64"},
		{"slice of strings", []string{"a"}, "[]string"},
		{"named string", stringer("x"), "rowset_test.stringer"},
		{"duration", time.Second, "time.Duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, q := openFake(t, fakeResult{cols: []string{"ok", "odd"}, rows: [][]driver.Value{{int64(1), tt.value}}})
			set := materialize(t, db, q)
			_, err := set.MarshalBinary()
			if !errors.Is(err, rowset.ErrUnsupportedValue) || !strings.Contains(err.Error(), `"odd"`) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("MarshalBinary = %v; want ErrUnsupportedValue naming column \"odd\" and %s", err, tt.want)
			}
			// The set still replays from memory.
			var ok int64
			var odd any
			if err := rowset.QueryRow(context.Background(), set).Scan(&ok, &odd); err != nil || !reflect.DeepEqual(odd, tt.value) {
				t.Errorf("replay = %v, %v; want %v", odd, err, tt.value)
			}
		})
	}

	t.Run("scan type", func(t *testing.T) {
		db, q := openFake(t, fakeResult{cols: []string{"odd"}, dbTypes: []string{"POINT"}, rows: [][]driver.Value{{point{1, 2}}}})
		set := materialize(t, db, q)
		_, err := set.MarshalBinary()
		if !errors.Is(err, rowset.ErrUnsupportedValue) || !strings.Contains(err.Error(), `"odd"`) || !strings.Contains(err.Error(), "scan type rowset_test.point") {
			t.Errorf("MarshalBinary = %v; want ErrUnsupportedValue naming the column and its scan type", err)
		}
	})

	t.Run("custom location", func(t *testing.T) {
		data, err := os.ReadFile("/usr/share/zoneinfo/Europe/Paris")
		if err != nil {
			t.Skip("no zone file to build a custom location from:", err)
		}
		loc, err := time.LoadLocationFromTZData("Custom/Paris", data)
		if err != nil {
			t.Fatal(err)
		}
		db, q := openFake(t, fakeResult{cols: []string{"at"}, rows: [][]driver.Value{{time.Date(2024, 1, 1, 0, 0, 0, 0, loc)}}})
		_, err = materialize(t, db, q).MarshalBinary()
		if !errors.Is(err, rowset.ErrUnsupportedValue) || !strings.Contains(err.Error(), "Custom/Paris") {
			t.Errorf("MarshalBinary = %v; want ErrUnsupportedValue naming the location", err)
		}
	})
}

func TestDecodeMalformed(t *testing.T) {
	db, q := openFake(t, fakeResult{
		cols:    []string{"id", "name", "at"},
		dbTypes: []string{"INT", "TEXT", "TIMESTAMP"},
		rows: [][]driver.Value{
			{int64(1), "one", time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("X", 60))},
			{int64(2), []byte("two"), 2.5},
		},
	})
	good, err := materialize(t, db, q).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(good) {
		if _, err := rowset.Decode(good[:n]); !errors.Is(err, rowset.ErrMalformed) {
			t.Fatalf("Decode of the first %d of %d bytes = %v, want ErrMalformed", n, len(good), err)
		}
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"nil", nil, "not an encoded set"},
		{"other magic", []byte("XX\x01\x01"), "not an encoded set"},
		{"other version", []byte("RS\x02\x01"), "format version 2"},
		{"trailing bytes", append(append([]byte{}, good...), 0), "after the set"},
		{"bytes after a too-large marker", []byte("RS\x01\x00\x02\x00\x00"), "after a too-large marker"},
		{"a too-large marker without its limits", []byte("RS\x01\x00\x02"), "byte limit"},
		{"too many rows", []byte("RS\x01\x01\x01\x01a\x00\x00\x00\xff\xff\xff\xff\x0f"), "rows"},
		{"unknown zone", []byte("RS\x01\x01\x01\x01a\x00\x00\x00\x01\x00\x08\x00\x00\x02\x0cNo/Such_Zone"), "No/Such_Zone"},
		{"more bytes than announced", []byte("RS\x01\x01\x01\x01a\x00\x00\x00\x01\x01\x06\x02ab"), "announced"},
		{"fewer bytes than announced", []byte("RS\x01\x01\x01\x01a\x00\x00\x00\x01\x03\x06\x02ab"), "announced"},
		{"unknown tag", []byte("RS\x01\x01\x01\x01a\x00\x00\x00\x01\x00\xee"), "cell tag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rowset.Decode(tt.data)
			if !errors.Is(err, rowset.ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode = %v, want ErrMalformed saying %q", err, tt.want)
			}
		})
	}
}

// A too-large marker is a set of no results, and survives the encoding as
// one; a replay of it is an error, not a panic.
func TestTooLargeMarker(t *testing.T) {
	lim := rowset.Limits{MaxRows: 2, MaxBytes: 300}
	m := rowset.TooLarge(lim)
	if !m.IsTooLarge() || m.Rows() != 0 {
		t.Fatalf("TooLarge(): IsTooLarge %v, Rows %d", m.IsTooLarge(), m.Rows())
	}
	data, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "RS\x01\x00\x02\xac\x02" {
		t.Fatalf("encoding = %q, want a count of 0 results and the limits 2 and 300", data)
	}
	got, err := rowset.Decode(data)
	if err != nil || !got.IsTooLarge() {
		t.Fatalf("Decode = %v, %v; want a too-large marker", got, err)
	}
	// The marker holds under limits no larger than those it was made
	// under (0: no limit), and not under larger ones, where the result may
	// fit.
	for _, tc := range []struct {
		now  rowset.Limits
		want bool
	}{
		{lim, true},
		{rowset.Limits{MaxRows: 1, MaxBytes: 100}, true},
		{rowset.Limits{MaxRows: 3, MaxBytes: 300}, false},
		{rowset.Limits{MaxRows: 2, MaxBytes: 301}, false},
		{rowset.Limits{MaxRows: 0, MaxBytes: 300}, false},
		{rowset.Limits{}, false},
	} {
		if g := got.TooLargeFor(tc.now); g != tc.want {
			t.Errorf("a marker made under %+v: TooLargeFor(%+v) = %v, want %v", lim, tc.now, g, tc.want)
		}
	}
	if !rowset.TooLarge(rowset.Limits{}).TooLargeFor(rowset.Limits{MaxRows: 5}) {
		t.Error("a marker made with no limits does not hold under some")
	}
	db, q := openFake(t, fakeResult{cols: []string{"id"}, dbTypes: []string{"INT"}, rows: [][]driver.Value{{int64(1)}}})
	if materialize(t, db, q).IsTooLarge() {
		t.Fatal("a materialized set reports itself too large")
	}
	if err := rowset.DriverRows(context.Background(), got).Next(make([]driver.Value, 1)); err == nil {
		t.Fatal("a replay of a too-large marker gave a row")
	}
}

// TestSerializers sends a set through the project's generic serializers,
// as a bytes store configured with one of them would.
func TestSerializers(t *testing.T) {
	db := openSQLite(t)
	if _, err := db.Exec(sqliteDDL); err != nil {
		t.Fatal(err)
	}
	const query = "SELECT * FROM things ORDER BY id"
	direct, err := db.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	want := observe(direct)
	set := materialize(t, db, query)
	for _, name := range []string{"cbor", "json", "gob"} {
		t.Run(name, func(t *testing.T) {
			s, err := serializer.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			b, err := s.Marshal(set)
			if err != nil {
				t.Fatal(err)
			}
			got := new(rowset.Set)
			if err := s.Unmarshal(b, got); err != nil {
				t.Fatal(err)
			}
			rows, err := rowset.Query(context.Background(), got)
			if err != nil {
				t.Fatal(err)
			}
			compareObservations(t, want, observe(rows))
		})
	}
}

func TestSize(t *testing.T) {
	db := openSQLite(t)
	small := materialize(t, db, "SELECT 1")
	large := materialize(t, db, "SELECT 1, ?", strings.Repeat("x", 10000))
	if small.Size() <= 0 || large.Size() < small.Size()+10000 {
		t.Errorf("Size() = %d and %d, want positive, and the second 10000 larger", small.Size(), large.Size())
	}
}

// A too-large marker keeps the limits it was made under through the
// generic serializers too (which decode with UnmarshalBinary or
// UnmarshalText): without them it would read as made under no limits, and
// hold under any, so that raising the limits would never cache the
// result again.
func TestTooLargeMarkerSerializers(t *testing.T) {
	lim := rowset.Limits{MaxRows: 2, MaxBytes: 300}
	larger := rowset.Limits{MaxRows: 10, MaxBytes: 300}
	for _, name := range []string{"cbor", "json", "gob"} {
		t.Run(name, func(t *testing.T) {
			s, err := serializer.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			b, err := s.Marshal(rowset.TooLarge(lim))
			if err != nil {
				t.Fatal(err)
			}
			got := new(rowset.Set)
			if err := s.Unmarshal(b, got); err != nil {
				t.Fatal(err)
			}
			if !got.IsTooLarge() || !got.TooLargeFor(lim) {
				t.Fatalf("decoded marker: IsTooLarge %v, TooLargeFor(%+v) %v; want both", got.IsTooLarge(), lim, got.TooLargeFor(lim))
			}
			if got.TooLargeFor(larger) {
				t.Errorf("a marker made under %+v holds under %+v after %s: its limits were lost", lim, larger, name)
			}
		})
	}
}

// Decode allocates in proportion to its input, for a crafted or corrupt
// value as for a real one: each count is checked against the bytes left
// for what it counts. A count of results each taken to need one byte let
// a megabyte of zeros allocate 136 MB of results before the input ran out.
func TestDecodeAllocationBounded(t *testing.T) {
	const n = 1 << 20
	zeros := bytes.Repeat([]byte{0}, n)
	inputs := map[string][]byte{
		"results":             append(binary.AppendUvarint([]byte("RS\x01"), n), zeros...),
		"results that decode": append(binary.AppendUvarint([]byte("RS\x01"), n/3), zeros[:n/3*3]...),
		"columns":             append(binary.AppendUvarint([]byte("RS\x01\x01"), n/4), zeros...),
		"cells":               append(binary.AppendUvarint([]byte("RS\x01\x01\x01\x01a\x00\x00\x00"), n), zeros...),
	}
	for name, data := range inputs {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, _ = rowset.Decode(data)
		runtime.ReadMemStats(&after)
		if a := after.TotalAlloc - before.TotalAlloc; a > 64*uint64(len(data)) {
			t.Errorf("%s: %d bytes allocated for %d bytes of input (%dx)", name, a, len(data), a/uint64(len(data)))
		}
	}
}
