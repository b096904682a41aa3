package backend_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
)

func TestRecordRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		e    backend.Entry
	}{
		{"plain", backend.Entry{Data: []byte("payload"), Meta: backend.Metadata{Created: time.Unix(1700000000, 123456789), Version: 3}}},
		{"empty data", backend.Entry{Data: []byte{}, Meta: backend.Metadata{Created: time.Unix(0, 1), Version: 1}}},
		{"zero time", backend.Entry{Data: []byte("x"), Meta: backend.Metadata{Version: 1}}},
		{"before 1970", backend.Entry{Data: []byte("old"), Meta: backend.Metadata{Created: time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), Version: 1}}},
		{"tags", backend.Entry{Data: []byte("rows"), Meta: backend.Metadata{Created: time.Unix(5, 0), Version: 1, Tags: []backend.TagVersion{
			{Tag: "app:t:public.users", Version: 1 << 62}, {Tag: "", Version: 0}, {Tag: "ключ", Version: 7},
		}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := backend.UnmarshalRecord(backend.MarshalRecord(tc.e))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Data, tc.e.Data) || !got.Meta.Created.Equal(tc.e.Meta.Created) || got.Meta.Version != tc.e.Meta.Version ||
				!slices.Equal(got.Meta.Tags, tc.e.Meta.Tags) {
				t.Fatalf("round trip = %+v, want %+v", got, tc.e)
			}
			if got.Meta.Created.IsZero() != tc.e.Meta.Created.IsZero() {
				t.Fatalf("zero time did not survive: %v", got.Meta.Created)
			}
		})
	}
}

func TestRecordRejects(t *testing.T) {
	good := backend.MarshalRecord(backend.Entry{Data: []byte("p"), Meta: backend.Metadata{Created: time.Now(), Version: 1}})
	mutate := func(i int, b byte) []byte {
		c := bytes.Clone(good)
		c[i] = b
		return c
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"nil", nil},
		{"short", good[:5]},
		{"bad magic", mutate(0, 'x')},
		{"future layout", mutate(1, 99)},
		{"unknown flags", mutate(2, 2)},
		{"tag flag without tags", mutate(2, 1)},
		{"json", []byte(`{"ct": 1, "v": 2}|payload`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := backend.UnmarshalRecord(tc.data); !errors.Is(err, backend.ErrBadRecord) {
				t.Fatalf("UnmarshalRecord = %v, want ErrBadRecord", err)
			}
		})
	}
}

func FuzzUnmarshalRecord(f *testing.F) {
	f.Add(backend.MarshalRecord(backend.Entry{Data: []byte("p"), Meta: backend.Metadata{Created: time.Now(), Version: 1}}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := backend.UnmarshalRecord(data)
		if err != nil {
			return
		}
		// What decodes re-encodes to a record that decodes the same.
		again, err := backend.UnmarshalRecord(backend.MarshalRecord(e))
		if err != nil || !bytes.Equal(again.Data, e.Data) || !slices.Equal(again.Meta.Tags, e.Meta.Tags) ||
			again.Meta.Version != e.Meta.Version || !again.Meta.Created.Equal(e.Meta.Created) {
			t.Fatalf("re-encoding %x gave %+v, %v; want %+v", data, again, err, e)
		}
	})
}
