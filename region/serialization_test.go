package region_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/region"
	"github.com/dogpile-go/dogpile/serializer"
)

func TestSerializedStoreGivesEachCallerItsOwnCopy(t *testing.T) {
	s, _ := memory.New(memory.Options{Serialized: true})
	r, _ := setup(t, region.Config{Backend: s})
	ctx := context.Background()
	create := func(context.Context) ([]int, error) { return []int{1, 2, 3}, nil }
	a, err := region.GetOrCreate(ctx, r, "k", create)
	if err != nil {
		t.Fatal(err)
	}
	a[0] = 99 // a caller scribbles on what it got
	b, _ := region.GetOrCreate(ctx, r, "k", create)
	if b[0] != 1 {
		t.Fatalf("a caller's change reached another caller: %v", b)
	}
}

func TestUndecodableValueIsMiss(t *testing.T) {
	s, _ := memory.New(memory.Options{Serialized: true})
	r, _ := setup(t, region.Config{Backend: s})
	ctx := context.Background()
	_ = s.Set(ctx, "k", backend.Entry{Data: []byte("{not json"), Meta: backend.Metadata{Created: t0, Version: 1}})
	var c counter
	v, err := region.GetOrCreate(ctx, r, "k", c.create)
	if err != nil || v != "v1" {
		t.Fatalf("GetOrCreate over an undecodable value = %q, %v; want a new value", v, err)
	}
	if r.Stats().DecodeErrors != 1 {
		t.Fatalf("DecodeErrors = %d, want 1", r.Stats().DecodeErrors)
	}
	if v, ok, _ := region.Get[string](ctx, r, "k"); !ok || v != "v1" {
		t.Fatalf("the new value replaced the undecodable one: %q, %v", v, ok)
	}
}

// failingSerializer cannot encode anything.
type failingSerializer struct{}

func (failingSerializer) Marshal(any) ([]byte, error) { return nil, errors.New("cannot encode") }
func (failingSerializer) Unmarshal([]byte, any) error { return errors.New("cannot decode") }

func TestRegionSerializer(t *testing.T) {
	s, _ := memory.New(memory.Options{Serialized: true, Serializer: serializer.JSON})
	r, _ := setup(t, region.Config{Backend: s}, region.WithSerializer(serializer.Gob))
	ctx := context.Background()
	_ = region.Set(ctx, r, "k", "gob")
	e, _, _ := s.Get(ctx, "k")
	var got string
	if err := serializer.Gob.Unmarshal(e.Data, &got); err != nil || got != "gob" {
		t.Fatalf("value not encoded with the region's serializer: %q, %v", e.Data, err)
	}
	// A value that cannot be encoded is still returned by GetOrCreate, and
	// the failure is counted; Set reports it.
	bad, _ := setup(t, region.Config{Backend: s}, region.WithSerializer(failingSerializer{}))
	if v, err := region.GetOrCreate(ctx, bad, "x", (&counter{}).create); err != nil || v != "v1" {
		t.Fatalf("GetOrCreate with a failing serializer = %q, %v", v, err)
	}
	if bad.Stats().BackendErrors != 1 {
		t.Fatalf("encode failure not counted: %+v", bad.Stats())
	}
	if err := region.Set(ctx, bad, "x", "v"); err == nil {
		t.Fatal("Set with a failing serializer returned nil")
	}
}

func TestObjectStoreIgnoresRegionSerializer(t *testing.T) {
	r, _ := setup(t, region.Config{}, region.WithSerializer(failingSerializer{}))
	ctx := context.Background()
	if err := region.Set(ctx, r, "k", "v"); err != nil {
		t.Fatalf("Set on an object store with a region serializer = %v", err)
	}
	if v, ok, _ := region.Get[string](ctx, r, "k"); !ok || v != "v" {
		t.Fatalf("Get = %q, %v", v, ok)
	}
}
