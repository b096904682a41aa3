package dogpileprom_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/memory"
	dogpileprom "github.com/dogpile-go/dogpile/contrib/prometheus"
	"github.com/dogpile-go/dogpile/region"
)

// A const label named "le" is accepted by Register, then panics inside the
// region's hot path the first time the observer records a latency.
func TestConstLabelLe(t *testing.T) {
	c := dogpileprom.NewCollector(dogpileprom.Options{ConstLabels: prometheus.Labels{"le": "x"}})
	if err := prometheus.NewRegistry().Register(c); err == nil {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("Register accepted ConstLabels{le}, then Observe panicked: %v", p)
			}
		}()
		c.Observer().Observe(context.Background(), region.Event{Kind: region.EventCreated, Region: "users"})
	}
}

// Nil sources must be refused when added, not crash a later scrape.
func TestNilSources(t *testing.T) {
	for _, tc := range []struct {
		name string
		add  func(c *dogpileprom.Collector) error
	}{
		{"region", func(c *dogpileprom.Collector) error { return c.AddRegion(nil) }},
		{"pool", func(c *dogpileprom.Collector) error { return c.AddPool("p", nil) }},
		{"tags", func(c *dogpileprom.Collector) error { return c.AddTags("t", nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("panic: %v", p)
				}
			}()
			c := dogpileprom.NewCollector(dogpileprom.Options{})
			reg := prometheus.NewRegistry()
			reg.MustRegister(c)
			if err := tc.add(c); err != nil {
				return // refused: fine
			}
			if _, err := reg.Gather(); err != nil {
				t.Fatalf("Add accepted nil; every scrape now fails: %.200v", err)
			}
		})
	}
}

// An exemplar client_golang refuses (too long here) must not make the
// caller's GetOrCreate panic; the latency is still recorded.
func TestInvalidExemplar(t *testing.T) {
	c := dogpileprom.NewCollector(dogpileprom.Options{
		Exemplar: func(context.Context) prometheus.Labels {
			return prometheus.Labels{"trace_id": strings.Repeat("a", 200)}
		},
	})
	r, _ := newRegion(t, "users", region.WithObserver(c.Observer()))
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("GetOrCreate panicked: %v", p)
			}
		}()
		if _, err := region.GetOrCreate(context.Background(), r, "k", value("v")); err != nil {
			t.Fatal(err)
		}
	}()
	got := scrape(t, reg)
	if v := got[`dogpile_region_creation_duration_seconds_count{region="users",result="ok"}`]; v != "1" {
		t.Fatalf("creation count = %q, want 1", v)
	}
}

// The region reports a wait on the backend's lock that failed (timeout,
// cancelled context) as EventLockWait with Err set (region/getorcreate.go,
// lockBackend). The lock-wait histogram is documented to count only the
// waits that ended with the creation they waited for.
func TestFailedLockWaitNotInHistogram(t *testing.T) {
	c := dogpileprom.NewCollector(dogpileprom.Options{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	c.Observer().Observe(context.Background(), region.Event{
		Kind: region.EventLockWait, Region: "users", Key: "k", Remote: true,
		Duration: 30 * time.Second, Err: backend.ErrLockTimeout,
	})
	got := scrape(t, reg)
	if v, ok := got[`dogpile_region_lock_wait_duration_seconds_count{region="users"}`]; ok {
		t.Fatalf("a failed lock wait is in the lock-wait histogram: count %s", v)
	}
}

// lockedStore is a memory store whose cross-process lock is always held by
// someone else and never frees: Lock times out at once.
type lockedStore struct{ *memory.Store }

func (s lockedStore) Mutex(string) backend.Mutex { return heldMutex{} }

type heldMutex struct{}

func (heldMutex) Lock(context.Context) error            { return backend.ErrLockTimeout }
func (heldMutex) TryLock(context.Context) (bool, error) { return false, nil }
func (heldMutex) Unlock(context.Context) error          { return nil }

// The same, end to end: a GetOrCreate that times out on the backend's lock.
func TestFailedLockWaitEndToEnd(t *testing.T) {
	c := dogpileprom.NewCollector(dogpileprom.Options{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	m, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := region.New("users", region.WithObserver(c.Observer()))
	r.MustConfigure(region.Config{Backend: lockedStore{m}})
	if err := c.AddRegion(r); err != nil {
		t.Fatal(err)
	}
	if _, err := region.GetOrCreate(context.Background(), r, "k", value("v")); !errors.Is(err, backend.ErrLockTimeout) {
		t.Fatalf("GetOrCreate = %v, want ErrLockTimeout", err)
	}
	got := scrape(t, reg)
	t.Logf("lock_waits_total %s", got[`dogpile_region_lock_waits_total{region="users"}`])
	if v, ok := got[`dogpile_region_lock_wait_duration_seconds_count{region="users"}`]; ok {
		t.Fatalf("a failed lock wait is in the lock-wait histogram: count %s", v)
	}
}
