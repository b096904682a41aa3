package bench

import (
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/serializer"
)

// profile is a typical cached value: a record with strings, numbers, a
// time, a nested slice and a map.
type profile struct {
	ID        int64
	Name      string
	Email     string
	Active    bool
	Score     float64
	CreatedAt time.Time
	Tags      []string
	Attrs     map[string]string
	Friends   []int64
}

func sampleProfile() profile {
	return profile{
		ID: 123456, Name: "Ada Lovelace", Email: "ada@example.com", Active: true, Score: 97.25,
		CreatedAt: time.Date(2024, 3, 1, 12, 30, 0, 0, time.UTC),
		Tags:      []string{"admin", "early-adopter", "math"},
		Attrs:     map[string]string{"tz": "Europe/London", "lang": "en"},
		Friends:   []int64{1, 2, 3, 5, 8, 13, 21, 34, 55, 89},
	}
}

type msgpackSerializer struct{}

func (msgpackSerializer) Marshal(v any) ([]byte, error)   { return msgpack.Marshal(v) }
func (msgpackSerializer) Unmarshal(b []byte, v any) error { return msgpack.Unmarshal(b, v) }

type cborSerializer struct{}

func (cborSerializer) Marshal(v any) ([]byte, error)   { return cbor.Marshal(v) }
func (cborSerializer) Unmarshal(b []byte, v any) error { return cbor.Unmarshal(b, v) }

var serializers = []struct {
	name string
	s    backend.Serializer
}{
	{"json", serializer.JSON},
	{"gob", serializer.Gob},
	{"msgpack", msgpackSerializer{}},
	{"cbor", cborSerializer{}},
	{"default", serializer.Default},
}

// BenchmarkSerializer measures a round trip (encode then decode) of one
// profile and of a page of 100, and reports the encoded size.
func BenchmarkSerializer(b *testing.B) {
	one := sampleProfile()
	page := make([]profile, 100)
	for i := range page {
		page[i] = sampleProfile()
		page[i].ID = int64(i)
	}
	for _, s := range serializers {
		b.Run(s.name+"/one", func(b *testing.B) {
			size, _ := s.s.Marshal(one)
			b.ReportAllocs()
			for b.Loop() {
				data, err := s.s.Marshal(one)
				if err != nil {
					b.Fatal(err)
				}
				var out profile
				if err := s.s.Unmarshal(data, &out); err != nil || out.ID != one.ID {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(size)), "bytes")
		})
		b.Run(s.name+"/page100", func(b *testing.B) {
			size, _ := s.s.Marshal(page)
			b.ReportAllocs()
			for b.Loop() {
				data, err := s.s.Marshal(page)
				if err != nil {
					b.Fatal(err)
				}
				var out []profile
				if err := s.s.Unmarshal(data, &out); err != nil || len(out) != 100 {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(size)), "bytes")
		})
	}
}
