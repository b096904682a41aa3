package memory_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/backendtest"
	"github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/clock"
	"github.com/dogpile-go/dogpile/serializer"
)

func TestConformance(t *testing.T) {
	tests := []struct {
		name string
		opts memory.Options
	}{
		{"object", memory.Options{}},
		{"serialized", memory.Options{Serialized: true}},
		{"bounded entries", memory.Options{MaxEntries: 10_000}},
		{"bounded bytes", memory.Options{Serialized: true, MaxBytes: 64 << 20}},
		{"ttl", memory.Options{EnableTTL: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var clk *clock.Manual
			h := backendtest.Harness{
				New: func(t *testing.T) backend.Backend {
					o := tc.opts
					clk = clock.NewManual(time.Now())
					o.Clock = clk
					s, err := memory.New(o)
					if err != nil {
						t.Fatal(err)
					}
					return s
				},
				AdvanceClock: func(t *testing.T, d time.Duration) { clk.Advance(d) },
			}
			if tc.opts.EnableTTL {
				h.CheckTTL = func(t *testing.T, b backend.Backend, key string, ttl time.Duration) {
					left, ok := b.(*memory.Store).ExpiresAfter(key)
					if !ok || left <= 0 || left > ttl {
						t.Errorf("key %q expires after %v (present %v), want within (0, %v]", key, left, ok, ttl)
					}
				}
			}
			backendtest.Run(t, h)
		})
	}
}

func TestBoundedByEntries(t *testing.T) {
	s, err := memory.New(memory.Options{MaxEntries: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for i := range 10_000 {
		if err := s.Set(ctx, fmt.Sprint("k", i), backend.Entry{Value: i, Meta: backend.Metadata{Created: time.Now(), Version: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	s.CleanUp()
	if n := s.Len(); n > 100 {
		t.Fatalf("store bounded to 100 entries holds %d", n)
	}
}

func TestBoundedByBytes(t *testing.T) {
	s, err := memory.New(memory.Options{Serialized: true, MaxBytes: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	payload := make([]byte, 1000)
	for i := range 1000 {
		if err := s.Set(ctx, fmt.Sprint("k", i), backend.Entry{Data: payload, Meta: backend.Metadata{Created: time.Now(), Version: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	s.CleanUp()
	// Each entry weighs a little over 1000 bytes, so at most ~97 fit.
	if n := s.Len(); n > 100 {
		t.Fatalf("store bounded to 100 kB holds %d entries of 1 kB", n)
	}
}

// With EnableTTL an entry lives as long as its TTL on the store's clock,
// and an entry written without one stays.
func TestTTLExpiresOnTheStoresClock(t *testing.T) {
	clk := clock.NewManual(time.Now())
	s, err := memory.New(memory.Options{EnableTTL: true, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	e := backend.Entry{Value: 1, Meta: backend.Metadata{Created: clk.Now(), Version: 1}}
	if err := s.SetWithTTL(ctx, "short", e, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "forever", e); err != nil {
		t.Fatal(err)
	}
	clk.Advance(59 * time.Second)
	if _, ok, _ := s.Get(ctx, "short"); !ok {
		t.Fatal("an entry is gone before its TTL")
	}
	clk.Advance(2 * time.Second)
	if _, ok, _ := s.Get(ctx, "short"); ok {
		t.Fatal("an entry outlived its TTL")
	}
	if _, ok := s.GetEntry(ctx, "short"); ok {
		t.Fatal("GetEntry found an entry past its TTL")
	}
	if _, ok, _ := s.Get(ctx, "forever"); !ok {
		t.Fatal("an entry written without a TTL expired")
	}
}

func TestTTLIgnoredWithoutEnableTTL(t *testing.T) {
	s, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.SetWithTTL(ctx, "k", backend.Entry{Value: 1, Meta: backend.Metadata{Created: time.Now(), Version: 1}}, time.Nanosecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Millisecond) // longer than the TTL, which must be ignored
	if _, ok, _ := s.Get(ctx, "k"); !ok {
		t.Fatal("a store without EnableTTL dropped an entry written with a TTL")
	}
}

func TestSerializedKeepsNoValue(t *testing.T) {
	s, err := memory.New(memory.Options{Serialized: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	// A region never sends both, but a store must not keep a reference to
	// a caller's value, whatever it is given.
	_ = s.Set(ctx, "k", backend.Entry{Value: []int{1}, Data: []byte("[1]"), Meta: backend.Metadata{Created: time.Now(), Version: 1}})
	e, ok, _ := s.Get(ctx, "k")
	if !ok || e.Value != nil || string(e.Data) != "[1]" {
		t.Fatalf("serialized store returned %+v, %v; want Data only", e, ok)
	}
	if s.Serializer() != serializer.Default {
		t.Errorf("Serializer() = %v, want the default", s.Serializer())
	}
}

func TestOptionsErrors(t *testing.T) {
	tests := []struct {
		name string
		opts memory.Options
	}{
		{"negative entries", memory.Options{MaxEntries: -1}},
		{"negative bytes", memory.Options{MaxBytes: -1}},
		{"both bounds", memory.Options{MaxEntries: 1, MaxBytes: 1}},
		{"object store by bytes without weigher", memory.Options{MaxBytes: 1000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := memory.New(tc.opts)
			if !errors.Is(err, backend.ErrBadArgument) {
				t.Fatalf("New(%+v) = %v, want ErrBadArgument", tc.opts, err)
			}
		})
	}
}

func TestRegistry(t *testing.T) {
	tests := []struct {
		name       string
		backend    string
		args       backend.Arguments
		wantErr    error
		serialized bool
	}{
		{"memory", "memory", nil, nil, false},
		{"memory with bound as string", "memory", backend.Arguments{"max_entries": "1000"}, nil, false},
		{"serialized", "memory_serialized", backend.Arguments{"serializer": "gob", "max_bytes": 1 << 20}, nil, true},
		{"misspelt argument", "memory", backend.Arguments{"max_entrys": 10}, backend.ErrBadArgument, false},
		{"bad number", "memory", backend.Arguments{"max_entries": "many"}, backend.ErrBadArgument, false},
		{"unknown serializer", "memory_serialized", backend.Arguments{"serializer": "pickle"}, backend.ErrBadArgument, false},
		{"serializer on object store", "memory", backend.Arguments{"serializer": "json"}, backend.ErrBadArgument, false},
		{"unknown backend", "memcache", nil, backend.ErrUnknownBackend, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := backend.Open(tc.backend, tc.args)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Open = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer backend.Close(b)
			if got := backend.SerializerOf(b) != nil; got != tc.serialized {
				t.Errorf("serialized = %v, want %v", got, tc.serialized)
			}
		})
	}
}
