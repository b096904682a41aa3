package region_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/memory"
	_ "github.com/dogpile-go/dogpile/backend/null"
	"github.com/dogpile-go/dogpile/region"
)

func TestNotConfigured(t *testing.T) {
	r := region.New("r")
	ctx := context.Background()
	checks := map[string]error{}
	_, checks["GetOrCreate"] = region.GetOrCreate(ctx, r, "k", (&counter{}).create)
	_, _, checks["Get"] = region.Get[int](ctx, r, "k")
	checks["Set"] = region.Set(ctx, r, "k", 1)
	checks["Delete"] = r.Delete(ctx, "k")
	checks["Invalidate"] = r.Invalidate(ctx, true)
	_, checks["GetMulti"] = region.GetMulti[int](ctx, r, []string{"k"})
	for name, err := range checks {
		if !errors.Is(err, region.ErrNotConfigured) {
			t.Errorf("%s on an unconfigured region = %v, want ErrNotConfigured", name, err)
		}
	}
	if r.IsConfigured() || r.Backend() != nil {
		t.Error("unconfigured region reports a backend")
	}
}

func TestConfigureTwice(t *testing.T) {
	r := region.New("r")
	if err := r.Configure(region.Config{BackendName: "memory"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_ = region.Set(ctx, r, "k", 1)
	if err := r.Configure(region.Config{BackendName: "memory"}); !errors.Is(err, region.ErrAlreadyConfigured) {
		t.Fatalf("second Configure = %v, want ErrAlreadyConfigured", err)
	}
	if _, ok, _ := region.Get[int](ctx, r, "k"); !ok {
		t.Fatal("a refused Configure replaced the backend")
	}
	if err := r.Configure(region.Config{BackendName: "memory", ReplaceExisting: true}); err != nil {
		t.Fatalf("Configure with ReplaceExisting = %v", err)
	}
	if _, ok, _ := region.Get[int](ctx, r, "k"); ok {
		t.Fatal("ReplaceExisting kept the old backend")
	}
}

func TestConfigureErrors(t *testing.T) {
	store, _ := memory.New(memory.Options{})
	tests := []struct {
		name string
		cfg  region.Config
		want error
	}{
		{"no backend", region.Config{}, region.ErrBadConfig},
		{"both backends", region.Config{Backend: store, BackendName: "memory"}, region.ErrBadConfig},
		{"unknown name", region.Config{BackendName: "nope"}, backend.ErrUnknownBackend},
		{"bad argument", region.Config{BackendName: "memory", Arguments: backend.Arguments{"max_entries": "x"}}, backend.ErrBadArgument},
		{"negative expiration", region.Config{Backend: store, Expiration: -5 * time.Second}, region.ErrBadConfig},
		{"negative ttl", region.Config{Backend: store, StoreTTL: -1}, region.ErrBadConfig},
		{"nil proxy", region.Config{Backend: store, Wrap: []backend.Proxy{nil}}, backend.ErrBadArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := region.New("r").Configure(tc.cfg)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Configure = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestMustConfigurePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("MustConfigure with a bad config did not panic")
		}
	}()
	region.New("r").MustConfigure(region.Config{})
}

func TestConfigureFromConfig(t *testing.T) {
	conf := map[string]any{
		"cache.local.backend":               "memory_serialized",
		"cache.local.expiration_time":       "60",
		"cache.local.arguments.max_entries": "100",
		"cache.local.arguments.serializer":  "gob",
		"cache.local.store_ttl":             "2m",
		"cache.other.backend":               "null",
	}
	r := region.New("local")
	if err := r.ConfigureFromConfig(conf, "cache.local."); err != nil {
		t.Fatal(err)
	}
	if backend.SerializerOf(r.Backend()) == nil {
		t.Fatal("configured backend is not the serialized memory store")
	}
	ctx := context.Background()
	var c counter
	if v, _ := region.GetOrCreate(ctx, r, "k", c.create); v != "v1" {
		t.Fatalf("GetOrCreate = %q", v)
	}
	if v, _ := region.GetOrCreate(ctx, r, "k", c.create); v != "v1" {
		t.Fatalf("second GetOrCreate = %q, want the cached value", v)
	}

	bad := []struct {
		name string
		conf map[string]any
	}{
		{"no backend", map[string]any{"p.expiration_time": 1}},
		{"misspelt key", map[string]any{"p.backend": "memory", "p.expiration": 1}},
		{"bad expiration", map[string]any{"p.backend": "memory", "p.expiration_time": "soon"}},
		{"bad argument", map[string]any{"p.backend": "memory", "p.arguments.bogus": 1}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if err := region.New("r").ConfigureFromConfig(tc.conf, "p."); err == nil {
				t.Fatalf("ConfigureFromConfig(%v) = nil, want an error", tc.conf)
			}
		})
	}
	r2 := region.New("neg")
	if err := r2.ConfigureFromConfig(map[string]any{"p.backend": "memory", "p.expiration_time": "-1"}, "p."); err != nil {
		t.Fatalf("expiration_time -1 = %v, want no expiration", err)
	}
}

func TestKeyMangling(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		opts    []region.Option
		storeAs string
	}{
		{"backend default (none)", nil, "user:1"},
		{"region mangler", []region.Option{region.WithKeyMangler(backend.SHA1KeyMangler)}, backend.SHA1KeyMangler("user:1")},
		{"no mangling", []region.Option{region.WithoutKeyMangling()}, "user:1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := setup(t, region.Config{}, tc.opts...)
			_ = region.Set(ctx, r, "user:1", "x")
			if _, ok, _ := r.Backend().Get(ctx, tc.storeAs); !ok {
				t.Fatalf("value not stored under %q", tc.storeAs)
			}
			if v, ok, _ := region.Get[string](ctx, r, "user:1"); !ok || v != "x" {
				t.Fatalf("Get through the mangler = %q, %v", v, ok)
			}
		})
	}
}

// mangling is a store that asks for its keys to be mangled.
type mangling struct{ *memory.Store }

func (mangling) KeyMangler() backend.KeyMangler { return func(k string) string { return "m/" + k } }

func TestBackendKeyMangler(t *testing.T) {
	s, _ := memory.New(memory.Options{})
	ctx := context.Background()
	r, _ := setup(t, region.Config{Backend: mangling{s}})
	_ = region.Set(ctx, r, "k", 1)
	if _, ok, _ := s.Get(ctx, "m/k"); !ok {
		t.Fatal("the backend's mangler was not used")
	}
	r2, _ := setup(t, region.Config{Backend: mangling{s}}, region.WithoutKeyMangling())
	_ = region.Set(ctx, r2, "k2", 1)
	if _, ok, _ := s.Get(ctx, "k2"); !ok {
		t.Fatal("WithoutKeyMangling still mangled")
	}
}
