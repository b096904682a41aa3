package serializer_test

import (
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/serializer"
)

type record struct {
	ID      int64
	Name    string
	When    time.Time
	Score   float64
	Tags    []string
	Attrs   map[string]int
	Ptr     *int
	Missing *string
	Bytes   []byte
}

func sample() record {
	n := 7
	return record{
		ID: -42, Name: "Zoë", When: time.Date(2024, 2, 29, 23, 59, 59, 123456789, time.UTC),
		Score: 0.1, Tags: []string{"a", "b"}, Attrs: map[string]int{"x": 1}, Ptr: &n, Bytes: []byte{0, 1, 255},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, name := range []string{"cbor", "json", "gob", "default"} {
		t.Run(name, func(t *testing.T) {
			s, err := serializer.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			in := sample()
			data, err := s.Marshal(in)
			if err != nil {
				t.Fatal(err)
			}
			var out record
			if err := s.Unmarshal(data, &out); err != nil {
				t.Fatal(err)
			}
			if !out.When.Equal(in.When) {
				t.Errorf("time = %v, want %v (nanoseconds must survive)", out.When, in.When)
			}
			out.When, in.When = time.Time{}, time.Time{}
			if !reflect.DeepEqual(out, in) {
				t.Errorf("round trip = %+v, want %+v", out, in)
			}
		})
	}
}

// A Go string holds any bytes, not only UTF-8: the binary serializers give
// them back as they were (a value that encodes but does not decode would
// be a miss on every read, its creator run every time).
func TestStringsOfAnyBytes(t *testing.T) {
	for _, name := range []string{"cbor", "gob", "default"} {
		t.Run(name, func(t *testing.T) {
			s, err := serializer.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			in := record{Name: "caf\xe9 \xff\x00", Tags: []string{"\xc3\x28"}, Attrs: map[string]int{"\xfe": 1}}
			data, err := s.Marshal(in)
			if err != nil {
				t.Fatal(err)
			}
			var out record
			if err := s.Unmarshal(data, &out); err != nil {
				t.Fatalf("a string of invalid UTF-8 did not decode: %v", err)
			}
			if !reflect.DeepEqual(out, in) {
				t.Errorf("round trip = %#v, want %#v", out, in)
			}
		})
	}
}

func TestUnmarshalGarbage(t *testing.T) {
	for _, s := range []backend.Serializer{serializer.CBOR, serializer.JSON, serializer.Gob} {
		var out record
		if err := s.Unmarshal([]byte{0xff, 0x00, 0x13}, &out); err == nil {
			t.Errorf("%v decoded garbage without an error", s)
		}
	}
}

func TestLookup(t *testing.T) {
	if s, err := serializer.Lookup(""); err != nil || s != serializer.Default {
		t.Fatalf("Lookup(\"\") = %v, %v", s, err)
	}
	if serializer.Default != serializer.CBOR {
		t.Fatal("the default serializer is not CBOR")
	}
	if _, err := serializer.Lookup("pickle"); !errors.Is(err, backend.ErrBadArgument) {
		t.Fatalf("Lookup(pickle) = %v", err)
	}
	// A name of this run's own: the registry outlives a run (-count).
	name := fmt.Sprintf("test-json-%d", lookupRuns.Add(1))
	serializer.Register(name, serializer.JSON)
	if s, err := serializer.Lookup(name); err != nil || s != serializer.JSON {
		t.Fatalf("registered serializer: %v, %v", s, err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("registering a name twice did not panic")
		}
	}()
	serializer.Register(name, serializer.JSON)
}

var lookupRuns atomic.Int64

// tree is a value nested as deep as its depth.
type tree struct {
	Child *tree
	N     int
}

// Whatever a serializer encodes it must decode: a value that encodes but
// does not decode is a miss on every read, its creator run every time. A
// long page of results, a large lookup table and a deep tree are ordinary
// values to cache.
func TestLargeValues(t *testing.T) {
	list := make([]int64, 200_000)
	table := make(map[int32]int32, 140_000)
	for i := range 140_000 {
		table[int32(i)] = int32(i)
	}
	var deep *tree
	for i := range 100 {
		deep = &tree{Child: deep, N: i}
	}
	for _, name := range []string{"cbor", "json", "gob"} {
		t.Run(name, func(t *testing.T) {
			s, err := serializer.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				what string
				in   any
				out  any
			}{
				{"200,000 elements", list, new([]int64)},
				{"140,000 map pairs", table, new(map[int32]int32)},
				{"100 levels", deep, new(*tree)},
			} {
				data, err := s.Marshal(tc.in)
				if err != nil {
					t.Fatalf("%s: %v", tc.what, err)
				}
				if err := s.Unmarshal(data, tc.out); err != nil {
					t.Errorf("%s encoded but did not decode: %v", tc.what, err)
					continue
				}
				if got := reflect.ValueOf(tc.out).Elem().Interface(); !reflect.DeepEqual(got, tc.in) {
					t.Errorf("%s did not round-trip", tc.what)
				}
			}
		})
	}
}

// A length that the data cannot hold is an error before anything that
// size is allocated, however large the limits on lengths are.
func TestCBORHugeLength(t *testing.T) {
	for _, data := range [][]byte{
		{0x9b, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0x01},             // an array of 2^31-1 elements
		{0xbb, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0x01},             // a map of 2^31-1 pairs
		{0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, // a byte string of 2^64-1 bytes
	} {
		var out any
		allocs := testing.AllocsPerRun(1, func() {
			if err := serializer.CBOR.Unmarshal(data, &out); err == nil {
				t.Errorf("% x decoded without an error", data)
			}
		})
		if allocs > 50 {
			t.Errorf("% x: %v allocations", data, allocs)
		}
	}
}
