package rowset_test

import (
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"math"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/cachedsql/internal/rowset"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

type (
	userID   int64
	status   string
	byteName []byte
	ints     []int64
)

// valuer is a driver.Valuer with a value receiver, ptrValuer one with a
// pointer receiver, badValuer one that fails.
type valuer struct{ v string }

func (v valuer) Value() (driver.Value, error) { return v.v, nil }

type ptrValuer struct{ n int64 }

func (p *ptrValuer) Value() (driver.Value, error) {
	if p == nil {
		return "nil receiver", nil
	}
	return p.n, nil
}

type badValuer struct{}

func (badValuer) Value() (driver.Value, error) { return nil, errors.New("no value today") }

type loopValuer struct{}

func (loopValuer) Value() (driver.Value, error) { return loopValuer{}, nil }

func key(t *testing.T, args ...any) string {
	t.Helper()
	k, err := rowset.Key("ns", "", "SELECT $1", args)
	if err != nil {
		t.Fatalf("Key(%#v): %v", args, err)
	}
	return k
}

func ptr[T any](v T) *T { return &v }

func TestKeyDiffers(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	instant := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		a, b []any
	}{
		{"int vs int32", []any{1}, []any{int32(1)}},
		{"int vs string", []any{1}, []any{"1"}},
		{"string vs bytes", []any{"1"}, []any{[]byte("1")}},
		{"int32 vs int16", []any{int32(1)}, []any{int16(1)}},
		{"int8 vs uint8", []any{int8(1)}, []any{uint8(1)}},
		{"int64 vs uint64", []any{int64(1)}, []any{uint64(1)}},
		{"float32 vs float64", []any{float32(1)}, []any{float64(1)}},
		{"float vs int", []any{1.0}, []any{1}},
		{"zero vs negative zero", []any{0.0}, []any{math.Copysign(0, -1)}},
		{"NaN payloads", []any{math.NaN()}, []any{math.Float64frombits(0x7ff8000000000002)}},
		{"true vs false", []any{true}, []any{false}},
		{"bool vs int", []any{true}, []any{1}},
		{"nil vs empty string", []any{nil}, []any{""}},
		{"nil bytes vs empty bytes", []any{[]byte(nil)}, []any{[]byte{}}},
		{"nil vs nil bytes", []any{nil}, []any{[]byte(nil)}},
		{"nil vs nil pointer", []any{nil}, []any{(*int64)(nil)}},
		{"nil pointers of two types", []any{(*int64)(nil)}, []any{(*string)(nil)}},
		{"values", []any{1}, []any{2}},
		{"order", []any{1, 2}, []any{2, 1}},
		{"count", []any{1}, []any{1, nil}},
		{"no args vs nil arg", []any{}, []any{nil}},
		{"string boundaries", []any{"ab", "c"}, []any{"a", "bc"}},
		{"named int", []any{userID(1)}, []any{int64(1)}},
		{"named string", []any{status("a")}, []any{"a"}},
		{"named bytes", []any{byteName("a")}, []any{[]byte("a")}},
		{"net.IP vs bytes", []any{net.IPv4(1, 2, 3, 4)}, []any{[]byte(net.IPv4(1, 2, 3, 4))}},
		{"json.RawMessage vs bytes", []any{json.RawMessage("{}")}, []any{[]byte("{}")}},
		{"duration vs int64", []any{time.Second}, []any{int64(time.Second)}},
		{"time instants", []any{instant}, []any{instant.Add(1)}},
		{"time locations", []any{instant}, []any{instant.In(ny)}},
		{"time UTC vs fixed zero", []any{instant}, []any{instant.In(time.FixedZone("", 0))}},
		{"time fixed zones", []any{instant.In(time.FixedZone("", 3600))}, []any{instant.In(time.FixedZone("", 7200))}},
		{"time vs string", []any{instant}, []any{instant.Format(time.RFC3339)}},
		{"named arg vs positional", []any{sql.Named("a", 1)}, []any{1}},
		{"named arg names", []any{sql.Named("a", 1)}, []any{sql.Named("b", 1)}},
		{"Valuer vs its value", []any{sql.NullString{String: "a", Valid: true}}, []any{"a"}},
		{"invalid Null vs nil", []any{sql.NullString{}}, []any{nil}},
		{"Null kinds", []any{sql.NullInt64{Int64: 1, Valid: true}}, []any{sql.NullInt32{Int32: 1, Valid: true}}},
		{"Null values", []any{sql.NullInt64{Int64: 1, Valid: true}}, []any{sql.NullInt64{Int64: 2, Valid: true}}},
		{"Valuer types", []any{valuer{"a"}}, []any{sql.NullString{String: "a", Valid: true}}},
		{"slice vs array", []any{[]int64{1}}, []any{[1]int64{1}}},
		{"slice element types", []any{[]int64{1}}, []any{[]int32{1}}},
		{"slice of any vs typed", []any{[]any{int64(1)}}, []any{[]int64{1}}},
		{"nil slice vs empty", []any{[]int64(nil)}, []any{[]int64{}}},
		{"nil slices of two types", []any{[]int64(nil)}, []any{[]string(nil)}},
		{"slice values", []any{[]string{"a", "b"}}, []any{[]string{"ab"}}},
		{"named slice", []any{ints{1}}, []any{[]int64{1}}},
		{"nested slices", []any{[][]int64{{1, 2}}}, []any{[][]int64{{1}, {2}}}},
		{"pgx mode", []any{pgx.QueryExecModeSimpleProtocol, 1}, []any{pgx.QueryExecModeExec, 1}},
		{"pgtype Int4 vs Int8", []any{pgtype.Int4{Int32: 1, Valid: true}}, []any{pgtype.Int8{Int64: 1, Valid: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if a, b := key(t, tt.a...), key(t, tt.b...); a == b {
				t.Errorf("Key(%#v) == Key(%#v) = %s", tt.a, tt.b, a)
			}
		})
	}

	// Namespace and SQL.
	k := func(ns, q string) string {
		s, err := rowset.Key(ns, "", q, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if k("a", "SELECT 1") == k("b", "SELECT 1") || k("a", "SELECT 1") == k("a", "SELECT 2") {
		t.Error("keys ignore the namespace or the SQL")
	}
	ks := func(session, q string) string {
		s, err := rowset.Key("a", session, q, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if ks("UTC", "SELECT 1") == ks("Asia/Tokyo", "SELECT 1") || ks("", "SELECT 1") == ks("SELECT 1", "") {
		t.Error("keys ignore the session settings, or confuse them with the SQL")
	}
	long := strings.Repeat("n", 100)
	if k(long, "q") == k(long+"x", "q") {
		t.Error("namespaces that differ past the shown prefix give one key")
	}
	if k("a b", "q") == k("a_b", "q") {
		t.Error("namespaces that show alike give one key")
	}
}

func TestKeyEqual(t *testing.T) {
	instant := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	n := int64(5)
	pv := &ptrValuer{n: 3}
	tests := []struct {
		name string
		a, b []any
	}{
		{"int and int64", []any{5}, []any{int64(5)}},
		{"uint and uint64", []any{uint(5)}, []any{uint64(5)}},
		{"pointer and value", []any{&n}, []any{int64(5)}},
		{"pointer to pointer", []any{ptr(&n)}, []any{int64(5)}},
		{"pointer to int and int64", []any{ptr(5)}, []any{int64(5)}},
		{"pointer to Valuer and Valuer", []any{&sql.NullString{String: "a", Valid: true}}, []any{sql.NullString{String: "a", Valid: true}}},
		{"pointer-receiver Valuer, twice", []any{pv}, []any{&ptrValuer{n: 3}}},
		{"monotonic reading ignored", []any{time.Now().Round(0).Add(0)}, nil},
		{"same instant, same location", []any{instant}, []any{time.Unix(instant.Unix(), 0).UTC()}},
		{"slices of int and int64", []any{[]int{1, 2}}, []any{[]int64{1, 2}}},
		{"slice of pointers", []any{[]*int64{&n}}, []any{[]*int64{ptr(int64(5))}}},
		{"same named arg", []any{sql.Named("a", 1)}, []any{sql.Named("a", int64(1))}},
		{"empty and nil args", []any{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.b
			if b == nil && len(tt.a) == 1 {
				if now, ok := tt.a[0].(time.Time); ok {
					b = []any{now.Round(0)} // strips the monotonic reading
					tt.a[0] = now
				}
			}
			if a, b := key(t, tt.a...), key(t, b...); a != b {
				t.Errorf("Key(%#v) = %s, Key(%#v) = %s; want them equal", tt.a, a, b, b)
			}
		})
	}
}

func TestKeyShape(t *testing.T) {
	shape := regexp.MustCompile(`^[!-~]{0,64}:[0-9a-f]{64}$`)
	for _, ns := range []string{"users", "", "with space\tand\ncontrols", strings.Repeat("é", 50)} {
		k, err := rowset.Key(ns, "", strings.Repeat("SELECT 1 ", 1000), []any{strings.Repeat("x", 1<<20)})
		if err != nil {
			t.Fatal(err)
		}
		if !shape.MatchString(k) || len(k) > 129 {
			t.Errorf("Key(%q) = %q, not of the documented shape", ns, k)
		}
	}
	k, _ := rowset.Key("users", "", "SELECT 1", nil)
	if !strings.HasPrefix(k, "users:") {
		t.Errorf("Key = %q, want the namespace as prefix", k)
	}
	// The same in every process and build: a key pinned when the encoding
	// was written.
	const want = "users:" + "a1834b92a34ec8443295877bfa6b30c5aeef2bbbd4c7e128748b98740ba1b72e"
	got, err := rowset.Key("users", "", "SELECT * FROM users WHERE id = $1 AND at < $2",
		[]any{42, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), "x", []byte{1}, nil, 1.5, true, sql.NullInt64{}})
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("Key = %s, want %s: the encoding changed; if on purpose, change keyFormat's version", got, want)
	}
}

func TestKeyUnsupported(t *testing.T) {
	type plain struct{ A int }
	var selfRef any
	selfRef = &selfRef
	tests := []struct {
		name string
		arg  any
		want string // in the error
	}{
		{"map", map[string]int{"a": 1}, "map[string]int"},
		{"pgx.NamedArgs", pgx.NamedArgs{"a": 1}, "pgx.NamedArgs"},
		{"channel", make(chan int), "chan int"},
		{"func", func() {}, "func()"},
		{"struct", plain{1}, "rowset_test.plain"},
		{"pointer to struct", &plain{1}, "*rowset_test.plain"},
		{"complex", complex(1, 2), "complex128"},
		{"uintptr", uintptr(1), "uintptr"},
		{"pgtype.Array", pgtype.Array[int32]{Elements: []int32{1}}, "pgtype.Array[int32]"},
		{"slice of maps", []map[string]int{{}}, "[]map[string]int"},
		{"Valuer error", badValuer{}, "no value today"},
		{"Valuer cycle", loopValuer{}, "nested"},
		{"pointer cycle", &selfRef, "nested"},
		{"named arg of a map", sql.Named("m", map[int]int{}), "sql.NamedArg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rowset.Key("ns", "", "q", []any{1, tt.arg})
			if !errors.Is(err, rowset.ErrKeyArgument) || !strings.Contains(err.Error(), "args[1]") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Key = %v; want ErrKeyArgument naming args[1] and %q", err, tt.want)
			}
		})
	}
}

func TestKeyNilPointerValuer(t *testing.T) {
	// database/sql calls a pointer-receiver Value method even on a nil
	// pointer, and treats a nil pointer to a value-receiver Valuer as NULL.
	a := key(t, (*ptrValuer)(nil))
	b := key(t, (*sql.NullString)(nil))
	if a == b || a == key(t, nil) || b == key(t, nil) {
		t.Error("nil pointers to Valuers collide")
	}
}
