package invalidation_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/backend/redis"
	"github.com/dogpile-go/dogpile/backend/tiered"
	"github.com/dogpile-go/dogpile/clock"
	"github.com/dogpile-go/dogpile/internal/testenv"
	"github.com/dogpile-go/dogpile/invalidation"
	"github.com/dogpile-go/dogpile/region"
)

var sharedPrefixes atomic.Int64

func newShared(t *testing.T, b backend.Backend, key string, o invalidation.SharedOptions) *invalidation.Shared {
	t.Helper()
	s, err := invalidation.NewShared(b, key, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// switchable is a proxy whose Get and Set fail while down is set.
type switchable struct {
	backend.ProxyBackend
	down atomic.Bool
}

var errSwitchedOff = errors.New("store switched off")

func (s *switchable) Get(ctx context.Context, key string) (backend.Entry, bool, error) {
	if s.down.Load() {
		return backend.Entry{}, false, errSwitchedOff
	}
	return s.ProxyBackend.Get(ctx, key)
}

func (s *switchable) Set(ctx context.Context, key string, e backend.Entry) error {
	if s.down.Load() {
		return errSwitchedOff
	}
	return s.ProxyBackend.Set(ctx, key, e)
}

func newSwitchable(t *testing.T) *switchable {
	t.Helper()
	m, err := memory.New(memory.Options{Serialized: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	sw := &switchable{}
	sw.SetProxied(m)
	return sw
}

// The strategy classifies values as region.LocalInvalidation does, hard and
// soft kept apart, with Skew widening both.
func TestSharedInvalidated(t *testing.T) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		skew    time.Duration
		actions []bool // invalidations, hard or not, one second apart from start+1s
		created time.Duration
		want    region.Invalidation
	}{
		{"nothing invalidated", 0, nil, 0, region.NotInvalidated},
		{"before a hard one", 0, []bool{true}, 500 * time.Millisecond, region.HardInvalidated},
		{"at the instant of a hard one", 0, []bool{true}, time.Second, region.NotInvalidated},
		{"before a soft one", 0, []bool{false}, 500 * time.Millisecond, region.SoftInvalidated},
		{"after it", 0, []bool{false}, 1500 * time.Millisecond, region.NotInvalidated},
		{"before a hard then a soft one", 0, []bool{true, false}, 500 * time.Millisecond, region.HardInvalidated},
		{"between the hard and the soft one", 0, []bool{true, false}, 1500 * time.Millisecond, region.SoftInvalidated},
		{"before a soft then a hard one", 0, []bool{false, true}, 500 * time.Millisecond, region.HardInvalidated},
		{"just after a hard one, within skew", 100 * time.Millisecond, []bool{true}, 1050 * time.Millisecond, region.HardInvalidated},
		{"after the skew", 100 * time.Millisecond, []bool{true}, 1100 * time.Millisecond, region.NotInvalidated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewManual(start)
			m, _ := memory.New(memory.Options{})
			s := newShared(t, m, "inv", invalidation.SharedOptions{Clock: clk, Skew: tc.skew})
			for _, hard := range tc.actions {
				clk.Advance(time.Second)
				if err := s.Invalidate(context.Background(), hard); err != nil {
					t.Fatal(err)
				}
			}
			if got := s.Invalidated(start.Add(tc.created)); got != tc.want {
				t.Fatalf("Invalidated(start+%v) = %v, want %v", tc.created, got, tc.want)
			}
		})
	}
}

// storePair gives the stores of two processes that share state: one store
// seen by both for memory and Redis, two tiered stores on one Redis.
type storePair struct {
	name     string
	stores   func(t *testing.T) (a, b backend.Backend)
	interval time.Duration
}

func sharedStorePairs() []storePair {
	one := func(mk func(t *testing.T) backend.Backend) func(t *testing.T) (backend.Backend, backend.Backend) {
		return func(t *testing.T) (backend.Backend, backend.Backend) { b := mk(t); return b, b }
	}
	redisOpts := func(t *testing.T, prefix string) redis.Options {
		return redis.Options{URL: testenv.SharedRedis(t).URL(), KeyPrefix: prefix}
	}
	return []storePair{
		{"memory objects", one(func(t *testing.T) backend.Backend {
			m, _ := memory.New(memory.Options{})
			t.Cleanup(func() { _ = m.Close() })
			return m
		}), 20 * time.Millisecond},
		{"memory bytes", one(func(t *testing.T) backend.Backend {
			m, _ := memory.New(memory.Options{Serialized: true})
			t.Cleanup(func() { _ = m.Close() })
			return m
		}), 20 * time.Millisecond},
		{"redis", one(func(t *testing.T) backend.Backend {
			s, err := redis.New(redisOpts(t, fmt.Sprintf("shared%d:", sharedPrefixes.Add(1))))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		}), 20 * time.Millisecond},
		// The tiered store says at once when the state changes: no polling
		// is needed, so the interval is an hour.
		{"tiered", func(t *testing.T) (backend.Backend, backend.Backend) {
			prefix := fmt.Sprintf("shared%d:", sharedPrefixes.Add(1))
			var out [2]backend.Backend
			for i := range out {
				ro := redisOpts(t, prefix)
				s, err := tiered.New(tiered.Options{Redis: &ro})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = s.Close() })
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err = s.WaitHealthy(ctx)
				cancel()
				if err != nil {
					t.Fatal(err)
				}
				out[i] = s
			}
			return out[0], out[1]
		}, time.Hour},
	}
}

// An Invalidate in one process is honoured by another within the interval
// (at once with the tiered store), with hard and soft semantics as the
// region documents them.
func TestSharedAcrossProcesses(t *testing.T) {
	for _, sp := range sharedStorePairs() {
		for _, hard := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/hard=%v", sp.name, hard), func(t *testing.T) {
				ctx := context.Background()
				a, b := sp.stores(t)
				clk := clock.NewManual(time.Now())
				o := invalidation.SharedOptions{Interval: sp.interval, Clock: clk}
				sa := newShared(t, a, "region:users:invalidation", o)
				sb := newShared(t, b, "region:users:invalidation", o)
				ra := region.New("users", region.WithClock(clk)).MustConfigure(region.Config{Backend: a, Invalidation: sa})
				rb := region.New("users", region.WithClock(clk)).MustConfigure(region.Config{Backend: b, Invalidation: sb})
				if err := region.Set(ctx, ra, "k", "old"); err != nil {
					t.Fatal(err)
				}
				if v, ok, _ := region.Get[string](ctx, rb, "k"); !ok || v != "old" {
					t.Fatalf("b reads %q, %v before any invalidation", v, ok)
				}
				clk.Advance(time.Second)
				if err := ra.Invalidate(ctx, hard); err != nil {
					t.Fatal(err)
				}
				if _, ok, _ := region.Get[string](ctx, ra, "k"); ok {
					t.Fatal("the invalidating process still serves the value")
				}
				took := waitUntil(t, sp.interval+5*time.Second, "b honours a's invalidation", func() bool {
					_, ok, err := region.Get[string](ctx, rb, "k")
					return err == nil && !ok
				})
				t.Logf("b honoured it after %v", took)
				want := region.SoftInvalidated
				if hard {
					want = region.HardInvalidated
				}
				if got := sb.Invalidated(clk.Now().Add(-time.Second)); got != want {
					t.Fatalf("b classifies the old value as %v, want %v", got, want)
				}
				clk.Advance(time.Second)
				// What a second caller gets while the first makes the new
				// value: the old one after a soft invalidation, the new one
				// after a hard one.
				started, release := make(chan struct{}), make(chan struct{})
				create := func(context.Context) (string, error) {
					close(started)
					<-release
					return "new", nil
				}
				first := make(chan string, 1)
				go func() { v, _ := region.GetOrCreate(ctx, rb, "k", create); first <- v }()
				<-started
				other := make(chan string, 1)
				go func() { v, _ := region.GetOrCreate(ctx, rb, "k", create); other <- v }()
				if !hard {
					if v := <-other; v != "old" {
						t.Fatalf("after a soft invalidation a concurrent caller got %q, want old", v)
					}
				}
				close(release)
				if v := <-first; v != "new" {
					t.Fatalf("creating caller got %q", v)
				}
				if hard {
					if v := <-other; v != "new" {
						t.Fatalf("after a hard invalidation a concurrent caller got %q, want new", v)
					}
				}
				waitUntil(t, sp.interval+5*time.Second, "a reads b's new value", func() bool {
					v, ok, _ := region.Get[string](ctx, ra, "k")
					return ok && v == "new"
				})
			})
		}
	}
}

// The store is down: Invalidate is deferred but honoured in its own
// process at once, written to the store once it is back, and so honoured
// by the others; a process that could not read the state treats old
// values as gone.
func TestSharedStoreDown(t *testing.T) {
	ctx := context.Background()
	sw := newSwitchable(t)
	clk := clock.NewManual(time.Now())
	o := invalidation.SharedOptions{Interval: 10 * time.Millisecond, Clock: clk}
	sa := newShared(t, sw, "inv", o)
	old := clk.Now()
	clk.Advance(time.Second)

	sw.down.Store(true)
	var reported atomic.Int64
	ob := o
	ob.OnError = func(error) { reported.Add(1) }
	sb := newShared(t, sw, "inv", ob) // starts while the store is down
	if reported.Load() == 0 {
		t.Error("the failed first read was not reported")
	}
	if got := sb.Invalidated(old); got != region.HardInvalidated {
		t.Fatalf("before its first read b classifies an old value as %v, want hard", got)
	}
	if got := sb.Invalidated(clk.Now()); got != region.NotInvalidated {
		t.Fatalf("before its first read b classifies a new value as %v, want not invalidated", got)
	}

	clk.Advance(time.Second)
	err := sa.Invalidate(ctx, true)
	if !errors.Is(err, invalidation.ErrDeferred) || !errors.Is(err, errSwitchedOff) {
		t.Fatalf("Invalidate with the store down = %v, want ErrDeferred wrapping the store's error", err)
	}
	cut := clk.Now()
	clk.Advance(time.Second)
	if got := sa.Invalidated(cut.Add(-time.Millisecond)); got != region.HardInvalidated {
		t.Fatalf("a does not honour its own deferred invalidation: %v", got)
	}
	if got := sb.Invalidated(cut.Add(-time.Millisecond)); got != region.NotInvalidated {
		t.Fatalf("b knows of a's invalidation with the store down: %v", got)
	}

	sw.down.Store(false)
	took := waitUntil(t, 5*time.Second, "b honours a's invalidation once the store is back", func() bool {
		return sb.Invalidated(cut.Add(-time.Millisecond)) == region.HardInvalidated
	})
	t.Logf("honoured %v after the store came back (interval 10ms)", took)
	if got := sb.Invalidated(cut); got != region.NotInvalidated {
		t.Fatalf("a value made at the invalidation's instant: %v", got)
	}
}

// A state lost by the store (evicted, expired, flushed) is written back by
// the processes that remember it, and a process started afterwards reads it.
func TestSharedStateRepaired(t *testing.T) {
	ctx := context.Background()
	m, _ := memory.New(memory.Options{})
	t.Cleanup(func() { _ = m.Close() })
	clk := clock.NewManual(time.Now())
	o := invalidation.SharedOptions{Interval: 10 * time.Millisecond, Clock: clk}
	sa := newShared(t, m, "inv", o)
	clk.Advance(time.Second)
	if err := sa.Invalidate(ctx, false); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(ctx, "inv"); err != nil {
		t.Fatal(err)
	}
	// Something else under the key counts as no state, and is replaced.
	if err := m.Set(ctx, "inv", backend.Entry{Value: "junk", Meta: backend.Metadata{Created: clk.Now(), Version: 1}}); err != nil {
		t.Fatal(err)
	}
	wantHard, wantSoft := sa.Times()
	waitUntil(t, 5*time.Second, "the state is written back", func() bool {
		sc, err := invalidation.NewShared(m, "inv", o)
		if err != nil {
			t.Fatal(err)
		}
		defer sc.Close()
		h, s := sc.Times()
		return h.Equal(wantHard) && s.Equal(wantSoft)
	})
}

// Two processes invalidate at once: each keeps the later time of each kind,
// and so does the store, whoever writes last.
func TestSharedMergesConcurrentInvalidations(t *testing.T) {
	ctx := context.Background()
	m, _ := memory.New(memory.Options{Serialized: true})
	t.Cleanup(func() { _ = m.Close() })
	ca, cb := clock.NewManual(time.Now()), clock.NewManual(time.Now())
	sa := newShared(t, m, "inv", invalidation.SharedOptions{Interval: 10 * time.Millisecond, Clock: ca})
	sb := newShared(t, m, "inv", invalidation.SharedOptions{Interval: 10 * time.Millisecond, Clock: cb})
	ca.Advance(2 * time.Second) // a's clock runs ahead
	cb.Advance(time.Second)
	if err := sa.Invalidate(ctx, true); err != nil {
		t.Fatal(err)
	}
	if err := sb.Invalidate(ctx, true); err != nil { // an earlier time, written last
		t.Fatal(err)
	}
	want := ca.Now()
	for name, s := range map[string]*invalidation.Shared{"a": sa, "b": sb} {
		waitUntil(t, 5*time.Second, name+" holds the later hard invalidation", func() bool {
			h, _ := s.Times()
			return h.Equal(want)
		})
	}
}

func TestSharedOptionsAndClose(t *testing.T) {
	m, _ := memory.New(memory.Options{})
	t.Cleanup(func() { _ = m.Close() })
	tests := []struct {
		name  string
		b     backend.Backend
		key   string
		o     invalidation.SharedOptions
		valid bool
	}{
		{"defaults", m, "k", invalidation.SharedOptions{}, true},
		{"no store", nil, "k", invalidation.SharedOptions{}, false},
		{"no key", m, "", invalidation.SharedOptions{}, false},
		{"negative interval", m, "k", invalidation.SharedOptions{Interval: -time.Second}, false},
		{"negative skew", m, "k", invalidation.SharedOptions{Skew: -time.Second}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := invalidation.NewShared(tc.b, tc.key, tc.o)
			if !tc.valid {
				if !errors.Is(err, invalidation.ErrBadOptions) {
					t.Fatalf("NewShared = %v, want ErrBadOptions", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if err := s.Invalidate(context.Background(), true); !errors.Is(err, invalidation.ErrClosed) {
				t.Fatalf("Invalidate after Close = %v, want ErrClosed", err)
			}
		})
	}
}

// A real Redis goes away and comes back empty: the invalidation made while
// it was down, and the state it lost, reach the other process all the same.
func TestSharedRedisRestarted(t *testing.T) {
	ctx := context.Background()
	srv := testenv.NewRedis(t, testenv.RedisOptions{})
	mk := func() *redis.Store {
		s, err := redis.New(redis.Options{Universal: &goredis.UniversalOptions{
			Addrs:       []string{srv.Addr()},
			DialTimeout: 200 * time.Millisecond, ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond,
			MaxRetries: -1, DialerRetries: 1, DialerRetryTimeout: 10 * time.Millisecond,
		}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	clk := clock.NewManual(time.Now())
	o := invalidation.SharedOptions{Interval: 20 * time.Millisecond, Clock: clk}
	sa, sb := newShared(t, mk(), "inv", o), newShared(t, mk(), "inv", o)
	clk.Advance(time.Second)
	if err := sa.Invalidate(ctx, false); err != nil {
		t.Fatal(err)
	}
	soft := clk.Now()
	srv.Stop(t)
	clk.Advance(time.Second)
	if err := sa.Invalidate(ctx, true); !errors.Is(err, invalidation.ErrDeferred) {
		t.Fatalf("Invalidate with Redis stopped = %v, want ErrDeferred", err)
	}
	hard := clk.Now()
	srv.Start(t)
	waitUntil(t, 5*time.Second, "b learns of both invalidations", func() bool {
		h, s := sb.Times()
		return h.Equal(hard) && s.Equal(soft)
	})
}

// A region whose invalidations reach every process sharing a store.
func ExampleNewShared() {
	store, _ := memory.New(memory.Options{}) // in production: the Redis or tiered store all processes share
	inv, err := invalidation.NewShared(store, "region:users:invalidation", invalidation.SharedOptions{
		Interval: time.Second, // how soon other processes notice, unless the store tells them at once
	})
	if err != nil {
		panic(err)
	}
	defer inv.Close()
	users := region.New("users").MustConfigure(region.Config{Backend: store, Invalidation: inv})
	ctx := context.Background()
	_ = region.Set(ctx, users, "user:42", "Ada")
	time.Sleep(time.Millisecond) // values made at the very instant of an invalidation stand
	_ = users.Invalidate(ctx, true)
	_, ok, _ := region.Get[string](ctx, users, "user:42")
	fmt.Println("still cached:", ok)
	// Output: still cached: false
}
