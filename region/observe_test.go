package region_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/region"
)

func TestObserverEvents(t *testing.T) {
	var mu sync.Mutex
	kinds := map[region.EventKind]int{}
	var created time.Duration
	obs := region.ObserverFunc(func(_ context.Context, e region.Event) {
		mu.Lock()
		defer mu.Unlock()
		kinds[e.Kind]++
		if e.Region != "TestObserverEvents" {
			t.Errorf("event from region %q", e.Region)
		}
		if e.Kind == region.EventCreated {
			created = e.Duration
		}
	})
	r, clk := setup(t, region.Config{Expiration: time.Minute}, region.WithObserver(obs))
	ctx := context.Background()
	create := func(context.Context) (int, error) { time.Sleep(2 * time.Millisecond); return 1, nil }
	_, _ = region.GetOrCreate(ctx, r, "k", create) // miss + created
	_, _ = region.GetOrCreate(ctx, r, "k", create) // hit
	clk.Advance(time.Second)
	_ = r.Invalidate(ctx, false)
	_, _ = region.GetOrCreate(ctx, r, "k", create) // stale → the caller creates
	want := map[region.EventKind]int{region.EventMiss: 1, region.EventCreated: 2, region.EventHit: 1, region.EventInvalidated: 1}
	mu.Lock()
	defer mu.Unlock()
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%v events = %d, want %d (all: %v)", k, kinds[k], n, kinds)
		}
	}
	if created < 2*time.Millisecond {
		t.Errorf("EventCreated duration = %v, want the creator's time", created)
	}
	if s := region.EventStaleServed.String(); s != "stale_served" {
		t.Errorf("EventStaleServed.String() = %q", s)
	}
}

// ttlRecorder records the TTL writes are made with.
type ttlRecorder struct {
	backend.ProxyBackend
	mu   sync.Mutex
	ttls []time.Duration
}

func (p *ttlRecorder) SetWithTTL(ctx context.Context, k string, e backend.Entry, ttl time.Duration) error {
	p.mu.Lock()
	p.ttls = append(p.ttls, ttl)
	p.mu.Unlock()
	return backend.SetWithTTL(ctx, p.Proxied(), k, e, ttl)
}

func TestStoreTTL(t *testing.T) {
	s, _ := memory.New(memory.Options{EnableTTL: true})
	rec := &ttlRecorder{}
	r, _ := setup(t, region.Config{Backend: s, Wrap: []backend.Proxy{rec}, StoreTTL: time.Hour})
	ctx := context.Background()
	_, _ = region.GetOrCreate(ctx, r, "a", (&counter{}).create)
	_, _ = region.GetOrCreate(ctx, r, "b", (&counter{}).create, region.WithStoreTTL(time.Minute))
	_ = region.Set(ctx, r, "c", "x")
	rec.mu.Lock()
	defer rec.mu.Unlock()
	want := []time.Duration{time.Hour, time.Minute, time.Hour}
	if len(rec.ttls) != 3 || rec.ttls[0] != want[0] || rec.ttls[1] != want[1] || rec.ttls[2] != want[2] {
		t.Fatalf("writes had TTLs %v, want %v", rec.ttls, want)
	}
}

// countingInvalidation is a custom strategy: everything created before the
// last call is invalidated, hard or soft as asked.
type countingInvalidation struct {
	mu    sync.Mutex
	at    time.Time
	hard  bool
	calls int
}

func (c *countingInvalidation) Invalidate(_ context.Context, hard bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at, c.hard, c.calls = t0.Add(time.Hour), hard, c.calls+1
	return nil
}

func (c *countingInvalidation) Invalidated(created time.Time) region.Invalidation {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.at.IsZero() || !created.Before(c.at):
		return region.NotInvalidated
	case c.hard:
		return region.HardInvalidated
	}
	return region.SoftInvalidated
}

func TestCustomInvalidationStrategy(t *testing.T) {
	inv := &countingInvalidation{}
	r, _ := setup(t, region.Config{Invalidation: inv})
	ctx := context.Background()
	_ = region.Set(ctx, r, "k", "v")
	if err := r.Invalidate(ctx, true); err != nil {
		t.Fatal(err)
	}
	if inv.calls != 1 {
		t.Fatal("the region did not call its strategy")
	}
	if _, ok, _ := region.Get[string](ctx, r, "k"); ok {
		t.Fatal("the strategy's invalidation was not honoured")
	}
	if region.HardInvalidated.String() != "hard" || region.Invalidation(9).String() != "Invalidation(9)" {
		t.Error("Invalidation.String")
	}
}

func TestGetValueMetadata(t *testing.T) {
	r, clk := setup(t, region.Config{})
	ctx := context.Background()
	clk.Advance(time.Minute)
	_ = region.Set(ctx, r, "k", 5)
	v, meta, ok, err := region.GetValueMetadata[int](ctx, r, "k")
	if err != nil || !ok || v != 5 || !meta.Created.Equal(t0.Add(time.Minute)) || meta.Version == 0 {
		t.Fatalf("GetValueMetadata = %v, %+v, %v, %v", v, meta, ok, err)
	}
	if _, _, ok, _ := region.GetValueMetadata[int](ctx, r, "none"); ok {
		t.Fatal("metadata for a missing key")
	}
}
