package region_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/region"
)

func newPool(t *testing.T, o region.PoolOptions) *region.Pool {
	t.Helper()
	p, err := region.NewPool(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			t.Errorf("pool Close: %v", err)
		}
	})
	return p
}

// With a runner, a stale value is returned to every caller, the creator
// included, and refreshed in the background.
func TestRunnerServesStaleAndRefreshes(t *testing.T) {
	pool := newPool(t, region.PoolOptions{Workers: 2, QueueSize: 8})
	r, clk := setup(t, region.Config{Expiration: time.Minute}, region.WithRunner(pool))
	ctx := context.Background()
	_ = region.Set(ctx, r, "k", "old")
	clk.Advance(time.Hour)
	release := make(chan struct{})
	var calls atomic.Int64
	create := func(context.Context) (string, error) {
		calls.Add(1)
		<-release
		return "new", nil
	}
	for range 100 {
		v, err := region.GetOrCreate(ctx, r, "k", create)
		if err != nil || v != "old" {
			t.Fatalf("with a runner, GetOrCreate on a stale key = %q, %v; want old at once", v, err)
		}
	}
	if locked, _ := r.KeyIsLocked(ctx, "k"); !locked {
		t.Fatal("key not locked while the runner creates it")
	}
	close(release)
	waitFor(t, "background refresh", func() bool {
		v, ok, _ := region.Get[string](ctx, r, "k")
		return ok && v == "new"
	})
	waitFor(t, "lock release", func() bool { locked, _ := r.KeyIsLocked(ctx, "k"); return !locked })
	if c := calls.Load(); c != 1 {
		t.Fatalf("creator ran %d times, want 1", c)
	}
	if st := r.Stats(); st.AsyncQueued != 1 || st.StaleServed != 100 {
		t.Fatalf("stats = %+v, want 1 queued and 100 stale served", st)
	}
}

// The first creation of a key always waits, even with a runner.
func TestRunnerNotUsedWithoutValue(t *testing.T) {
	pool := newPool(t, region.PoolOptions{})
	r, _ := setup(t, region.Config{}, region.WithRunner(pool))
	v, err := region.GetOrCreate(context.Background(), r, "k", (&counter{}).create)
	if err != nil || v != "v1" {
		t.Fatalf("GetOrCreate = %q, %v; want the created value", v, err)
	}
	if r.Stats().AsyncQueued != 0 {
		t.Fatal("a missing key's creation went to the runner")
	}
}

// When the runner's queue is full, the stale value is still served, the
// key's lock is released, and nothing grows without bound.
func TestRunnerFullQueue(t *testing.T) {
	pool := newPool(t, region.PoolOptions{Workers: 1, QueueSize: 1})
	r, clk := setup(t, region.Config{Expiration: time.Minute}, region.WithRunner(pool))
	ctx := context.Background()
	const keys = 50
	for i := range keys {
		_ = region.Set(ctx, r, itoa(int64(i)), "old")
	}
	clk.Advance(time.Hour)
	release := make(chan struct{})
	var calls atomic.Int64
	create := func(context.Context) (string, error) {
		calls.Add(1)
		<-release
		return "new", nil
	}
	before := runtime.NumGoroutine()
	for i := range keys {
		v, err := region.GetOrCreate(ctx, r, itoa(int64(i)), create)
		if err != nil || v != "old" {
			t.Fatalf("key %d: %q, %v; want old", i, v, err)
		}
	}
	defer func() {
		select {
		case <-release:
		default:
			close(release) // let the pool drain if the test fails early
		}
	}()
	waitFor(t, "the worker to start", func() bool { return pool.Stats().Running == 1 })
	waitFor(t, "every hand-off decided", func() bool { st := r.Stats(); return st.AsyncQueued+st.AsyncRejected == keys })
	st := r.Stats()
	if st.AsyncQueued+st.AsyncRejected != keys || st.AsyncRejected < keys-2 {
		t.Fatalf("queued %d, rejected %d; want at most 2 taken (1 running, 1 queued) and the rest rejected", st.AsyncQueued, st.AsyncRejected)
	}
	if ps := pool.Stats(); ps.Dropped != uint64(st.AsyncRejected) {
		t.Fatalf("pool dropped %d, region counted %d rejections", ps.Dropped, st.AsyncRejected)
	}
	// A rejected creation is counted before its flight lands and frees
	// the key, so the locks are waited for; those of the two creations
	// the pool took stay held until release.
	waitFor(t, "rejected creations to release their lock", func() bool {
		locked := 0
		for i := range keys {
			if l, _ := r.KeyIsLocked(ctx, itoa(int64(i))); l {
				locked++
			}
		}
		return locked <= 2
	})
	if g := runtime.NumGoroutine(); g > before+10 {
		t.Fatalf("goroutines grew from %d to %d with a full queue", before, g)
	}
	close(release)
	waitFor(t, "the queue to drain", func() bool { ps := pool.Stats(); return ps.Done == uint64(st.AsyncQueued) })
	// A rejected key is refreshed on a later call.
	decided := func() int64 { st := r.Stats(); return st.AsyncQueued + st.AsyncRejected }
	for i := range keys {
		if _, fresh, _ := region.Get[string](ctx, r, itoa(int64(i))); fresh {
			continue // refreshed by a job the runner took
		}
		before := decided()
		if _, err := region.GetOrCreate(ctx, r, itoa(int64(i)), create); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the hand-off", func() bool { return decided() > before })
		waitFor(t, "the runner to go idle", func() bool { ps := pool.Stats(); return ps.Queued == 0 && ps.Running == 0 })
		waitFor(t, "the key's lock", func() bool { l, _ := r.KeyIsLocked(ctx, itoa(int64(i))); return !l })
	}
	vals, _ := region.GetMulti[string](ctx, r, keysUpTo(keys))
	if len(vals) != keys {
		t.Fatalf("%d of %d keys refreshed after one more call each", len(vals), keys)
	}
}

func keysUpTo(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = itoa(int64(i))
	}
	return out
}

func TestRunnerCreatorErrorReleasesLock(t *testing.T) {
	pool := newPool(t, region.PoolOptions{Workers: 1})
	r, clk := setup(t, region.Config{Expiration: time.Minute}, region.WithRunner(pool))
	ctx := context.Background()
	_ = region.Set(ctx, r, "k", "old")
	clk.Advance(time.Hour)
	boom := errors.New("boom")
	v, err := region.GetOrCreate(ctx, r, "k", func(context.Context) (string, error) { return "", boom })
	if err != nil || v != "old" {
		t.Fatalf("GetOrCreate = %q, %v", v, err)
	}
	waitFor(t, "failed task", func() bool { return pool.Stats().Failed == 1 })
	waitFor(t, "lock release", func() bool { l, _ := r.KeyIsLocked(ctx, "k"); return !l })
	// A panicking creator too.
	v, err = region.GetOrCreate(ctx, r, "k", func(context.Context) (string, error) { panic("in the runner") })
	if err != nil || v != "old" {
		t.Fatalf("GetOrCreate = %q, %v", v, err)
	}
	waitFor(t, "second failed task", func() bool { return pool.Stats().Failed == 2 })
	waitFor(t, "lock release", func() bool { l, _ := r.KeyIsLocked(ctx, "k"); return !l })
}

func TestPoolCloseDrains(t *testing.T) {
	p, err := region.NewPool(region.PoolOptions{Workers: 2, QueueSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	var ran atomic.Int64
	for range 50 {
		if !p.Run(func() error { time.Sleep(time.Millisecond); ran.Add(1); return nil }) {
			t.Fatal("Run refused a task with room in the queue")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if ran.Load() != 50 {
		t.Fatalf("Close returned with %d of 50 tasks run", ran.Load())
	}
	if p.Run(func() error { return nil }) {
		t.Fatal("a closed pool took a task")
	}
	if st := p.Stats(); st.Done != 50 || st.Queued != 0 || st.Running != 0 {
		t.Fatalf("stats after close = %+v", st)
	}
}

func TestPoolCloseHonoursContext(t *testing.T) {
	p, _ := region.NewPool(region.PoolOptions{Workers: 1})
	release := make(chan struct{})
	p.Run(func() error { <-release; return nil })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := p.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close with a running task past its deadline = %v", err)
	}
	close(release)
}

func TestPoolConcurrentRun(t *testing.T) {
	p := newPool(t, region.PoolOptions{Workers: 4, QueueSize: 10})
	var wg sync.WaitGroup
	var accepted, ran atomic.Int64
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if p.Run(func() error { ran.Add(1); return nil }) {
					accepted.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	waitFor(t, "tasks", func() bool { return ran.Load() == accepted.Load() })
	if st := p.Stats(); uint64(accepted.Load())+st.Dropped != 800 {
		t.Fatalf("accepted %d + dropped %d != 800 submitted", accepted.Load(), st.Dropped)
	}
}

func TestNewPoolRejectsNegative(t *testing.T) {
	if _, err := region.NewPool(region.PoolOptions{Workers: -1}); !errors.Is(err, region.ErrBadConfig) {
		t.Fatalf("NewPool(-1 workers) = %v", err)
	}
}

// hidingProxy answers the first Get of a key from the store and every later
// one as missing, to put a caller without a value next to one with a stale
// value on the same flight.
type hidingProxy struct {
	backend.ProxyBackend
	gets atomic.Int64
}

func (p *hidingProxy) Get(ctx context.Context, k string) (backend.Entry, bool, error) {
	if p.gets.Add(1) > 1 {
		return backend.Entry{}, false, nil
	}
	return p.Proxied().Get(ctx, k)
}

// A caller with no value that joins a flight handed to the runner waits for
// the runner's value: only callers with a stale value stop waiting early.
func TestRunnerWaiterWithoutValueGetsNewValue(t *testing.T) {
	pool := newPool(t, region.PoolOptions{Workers: 1})
	s, _ := memory.New(memory.Options{})
	hide := &hidingProxy{}
	r, clk := setup(t, region.Config{Backend: s, Expiration: time.Minute, Wrap: []backend.Proxy{hide}}, region.WithRunner(pool))
	ctx := context.Background()
	_ = region.Set(ctx, r, "k", "old")
	clk.Advance(time.Hour)
	release := make(chan struct{})
	create := func(context.Context) (string, error) { <-release; return "new", nil }
	if v, err := region.GetOrCreate(ctx, r, "k", create); err != nil || v != "old" {
		t.Fatalf("first caller = %q, %v; want the stale value", v, err)
	}
	got := make(chan string)
	go func() {
		v, err := region.GetOrCreate(ctx, r, "k", create)
		if err != nil {
			t.Error(err)
		}
		got <- v
	}()
	waitFor(t, "the second caller to wait", func() bool { return r.Stats().LockWaits >= 1 })
	close(release)
	if v := <-got; v != "new" {
		t.Fatalf("caller without a value got %q, want the runner's new value", v)
	}
}
