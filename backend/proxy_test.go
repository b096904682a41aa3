package backend_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/memory"
)

// tracing records the order in which proxies see a Set.
type tracing struct {
	backend.ProxyBackend
	name string
	log  *[]string
}

func (p *tracing) Set(ctx context.Context, key string, e backend.Entry) error {
	*p.log = append(*p.log, p.name)
	return p.Proxied().Set(ctx, key, e)
}

func TestWrapOrder(t *testing.T) {
	store, err := memory.New(memory.Options{Serialized: true})
	if err != nil {
		t.Fatal(err)
	}
	var log []string
	outer := &tracing{name: "outer", log: &log}
	inner := &tracing{name: "inner", log: &log}
	b, err := backend.Wrap(store, outer, inner)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e := backend.Entry{Data: []byte("v"), Meta: backend.Metadata{Created: time.Now(), Version: 1}}
	if err := b.Set(ctx, "k", e); err != nil {
		t.Fatal(err)
	}
	if want := []string{"outer", "inner"}; !slices.Equal(log, want) {
		t.Errorf("Set went through %v, want %v (the first proxy is the outermost, as in dogpile)", log, want)
	}
	if backend.ActualBackend(b) != store {
		t.Errorf("ActualBackend = %T, want the memory store", backend.ActualBackend(b))
	}
	// Capabilities pass through the chain.
	if backend.SerializerOf(b) == nil {
		t.Error("a proxy over a serialized store does not report its serializer")
	}
	if got, ok, err := b.Get(ctx, "k"); err != nil || !ok || string(got.Data) != "v" {
		t.Errorf("Get through proxies = %+v, %v, %v", got, ok, err)
	}
	if err := backend.SetMulti(ctx, b, []backend.KeyedEntry{{Key: "m", Entry: e}}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, err := backend.GetMulti(ctx, b, []string{"m", "none"}); err != nil || got[0].IsZero() || !got[1].IsZero() {
		t.Errorf("GetMulti through proxies = %v, %v", got, err)
	}
	if backend.MutexFor(b, "k") != nil {
		t.Error("a proxy over a store without a lock offers one")
	}
	if err := backend.Close(b); err != nil {
		t.Errorf("Close through proxies: %v", err)
	}
}

func TestWrapRejects(t *testing.T) {
	store, _ := memory.New(memory.Options{})
	var log []string
	p := &tracing{name: "p", log: &log}
	if _, err := backend.Wrap(store, p, p); !errors.Is(err, backend.ErrBadArgument) {
		t.Errorf("Wrap with the same proxy twice = %v, want ErrBadArgument", err)
	}
	if _, err := backend.Wrap(store, nil); !errors.Is(err, backend.ErrBadArgument) {
		t.Errorf("Wrap with a nil proxy = %v, want ErrBadArgument", err)
	}
}

// registerRuns keeps the names of repeated runs (-count) apart: the
// registry is process-wide.
var registerRuns atomic.Int64

// Find looks down a proxy chain, from the outermost store.
func TestFind(t *testing.T) {
	store, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var log []string
	outer, inner := &tracing{name: "outer", log: &log}, &tracing{name: "inner", log: &log}
	b, err := backend.Wrap(store, outer, inner)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := backend.Find[*memory.Store](b); !ok || got != store {
		t.Errorf("Find[*memory.Store] = %v, %v; want the store beneath", got, ok)
	}
	if got, ok := backend.Find[*tracing](b); !ok || got != outer {
		t.Errorf("Find[*tracing] = %v, %v; want the outermost proxy", got, ok)
	}
	if _, ok := backend.Find[*backend.Breaker](b); ok {
		t.Error("Find found a store the chain does not hold")
	}
	if _, ok := backend.Find[*memory.Store](nil); ok {
		t.Error("Find found a store in nil")
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	name := fmt.Sprintf("test-dup-%d", registerRuns.Add(1))
	backend.Register(name, func(backend.Arguments) (backend.Backend, error) { return nil, nil })
	defer func() {
		if recover() == nil {
			t.Fatal("second Register of a name did not panic")
		}
	}()
	backend.Register(name, func(backend.Arguments) (backend.Backend, error) { return nil, nil })
}

func TestKeyManglers(t *testing.T) {
	if got := backend.SHA1KeyMangler("abc"); got != "a9993e364706816aba3e25717850c26c9cd0d89d" {
		t.Errorf("SHA1KeyMangler(abc) = %s", got)
	}
	m := backend.LengthLimitedKeyMangler(10, "h:")
	tests := []struct{ in, want string }{
		{"short", "short"},
		{"exactly10!", "exactly10!"},
		{"eleven char", "h:" + backend.SHA1KeyMangler("eleven char")},
		{"sp ace", "h:" + backend.SHA1KeyMangler("sp ace")},
		{"ключ", "h:" + backend.SHA1KeyMangler("ключ")},
	}
	for _, tc := range tests {
		if got := m(tc.in); got != tc.want {
			t.Errorf("mangle(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
