package rowset_test

import (
	"bytes"
	"context"
	"database/sql/driver"
	"errors"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/cachedsql/internal/rowset"
)

// FuzzDecode checks that Decode never panics, whatever it is given, and
// that what it accepts encodes back to the same bytes and replays.
func FuzzDecode(f *testing.F) {
	seeds := [][]fakeResult{
		{{cols: []string{"a"}, rows: [][]driver.Value{{int64(1)}}}},
		{{cols: []string{"id", "s", "b"}, dbTypes: []string{"INT", "TEXT", "BLOB"}, rows: [][]driver.Value{
			{int64(-5), "x", []byte{1, 2}}, {nil, "", []byte{}}, {int64(9), "y", []byte(nil)},
		}}},
		{{cols: []string{"t"}, rows: [][]driver.Value{
			{time.Date(2024, 1, 1, 0, 0, 0, 5, time.FixedZone("Z", 7200))},
			{time.Date(2024, 1, 1, 0, 0, 0, 5, time.UTC)},
			{2.5}, {true}, {float32(1)}, {uint16(3)},
		}}},
		multiResults(),
		{{cols: nil, rows: [][]driver.Value{{}, {}}}},
	}
	for _, results := range seeds {
		db, q := openFake(f, results...)
		b, err := materialize(f, db, q).MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("RS\x01"))
	f.Add([]byte{})
	marker, err := rowset.TooLarge(rowset.Limits{MaxRows: 10, MaxBytes: 1 << 20}).MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(marker)
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := rowset.Decode(data)
		if err != nil {
			if !errors.Is(err, rowset.ErrMalformed) {
				t.Fatalf("Decode error %v is not ErrMalformed", err)
			}
			return
		}
		again, err := set.MarshalBinary()
		if err != nil {
			t.Fatalf("a decoded set does not encode: %v", err)
		}
		if !bytes.Equal(again, data) {
			// Varints have more than one encoding; the re-encoding must
			// still decode, to the same bytes from then on.
			set2, err := rowset.Decode(again)
			if err != nil {
				t.Fatalf("re-encoding does not decode: %v", err)
			}
			third, _ := set2.MarshalBinary()
			if !bytes.Equal(third, again) {
				t.Fatal("encoding is not stable")
			}
		}
		if set.IsTooLarge() {
			return // a marker has nothing to replay (TestTooLargeMarker)
		}
		if set.Rows() > 10000 {
			return // rows without columns cost no bytes: don't iterate billions
		}
		rows, err := rowset.Query(context.Background(), set)
		if err != nil {
			t.Fatal(err)
		}
		for {
			for rows.Next() {
			}
			if !rows.NextResultSet() {
				break
			}
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	})
}
