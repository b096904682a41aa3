package region_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/region"
)

func failingRegion(t *testing.T, strict bool) (*region.Region, *failing, *[]region.Event) {
	t.Helper()
	s, _ := memory.New(memory.Options{})
	f := &failing{}
	var mu sync.Mutex
	var events []region.Event
	obs := region.ObserverFunc(func(_ context.Context, e region.Event) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
	})
	r, _ := setup(t, region.Config{Backend: s, Wrap: []backend.Proxy{f}, FailOnBackendError: strict}, region.WithObserver(obs))
	return r, f, &events
}

// By default a failing backend fails no call: the creator answers, once per
// key however many callers ask, and the error is counted and reported.
func TestBackendDownFallsBack(t *testing.T) {
	r, f, events := failingRegion(t, false)
	f.down.Store(true)
	ctx := context.Background()
	const n = 100
	var calls atomic.Int64
	create := func(context.Context) (string, error) {
		calls.Add(1)
		waitFor(t, "waiters", func() bool { return r.Stats().LockWaits >= n-1 })
		return "from the database", nil
	}
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := region.GetOrCreate(ctx, r, "k", create)
			if err != nil || v != "from the database" {
				t.Errorf("GetOrCreate with the backend down = %q, %v", v, err)
			}
		}()
	}
	wg.Wait()
	if c := calls.Load(); c != 1 {
		t.Fatalf("creator ran %d times with the backend down, want 1", c)
	}
	if r.Stats().BackendErrors == 0 {
		t.Fatal("backend errors were not counted")
	}
	var reported bool
	for _, e := range *events {
		if e.Kind == region.EventBackendError && errors.Is(e.Err, errDown) {
			reported = true
		}
	}
	if !reported {
		t.Fatal("the observer was not told of the backend error")
	}
	// Multi-key calls fall back too.
	got, err := region.GetOrCreateMulti(ctx, r, []string{"a", "b"}, func(_ context.Context, ks []string) ([]string, error) {
		return ks, nil
	})
	if err != nil || len(got) != 2 {
		t.Fatalf("GetOrCreateMulti with the backend down = %v, %v", got, err)
	}
	if m, err := region.GetMulti[string](ctx, r, []string{"a"}); err != nil || len(m) != 0 {
		t.Fatalf("GetMulti with the backend down = %v, %v; want nothing, nil", m, err)
	}
	// Explicit writes report the failure.
	if err := region.Set(ctx, r, "k", "x"); !errors.Is(err, errDown) {
		t.Fatalf("Set with the backend down = %v, want the backend's error", err)
	}
	// Service recovers without a restart.
	f.down.Store(false)
	var c counter
	if v, _ := region.GetOrCreate(ctx, r, "k", c.create); v != "v1" {
		t.Fatalf("after recovery = %q", v)
	}
	if v, _ := region.GetOrCreate(ctx, r, "k", c.create); v != "v1" || c.n.Load() != 1 {
		t.Fatalf("after recovery the value is not cached: %q, %d calls", v, c.n.Load())
	}
}

func TestBackendDownStrict(t *testing.T) {
	r, f, _ := failingRegion(t, true)
	f.down.Store(true)
	ctx := context.Background()
	var c counter
	if _, err := region.GetOrCreate(ctx, r, "k", c.create); !errors.Is(err, errDown) {
		t.Fatalf("strict GetOrCreate with the backend down = %v, want the backend's error", err)
	}
	if c.n.Load() != 0 {
		t.Fatal("strict region called the creator with the backend down")
	}
	if _, _, err := region.Get[string](ctx, r, "k"); !errors.Is(err, errDown) {
		t.Fatalf("strict Get = %v", err)
	}
}

// A process that finds another process's creation lock held waits for it,
// and then uses the value that process made instead of creating again.
func TestCrossProcessLock(t *testing.T) {
	table := newLockTable()
	shared, _ := memory.New(memory.Options{})
	ctx := context.Background()
	regionA, clk := setup(t, region.Config{Backend: newLockingStore(t, table, shared), Expiration: time.Minute})
	var remoteWaits atomic.Int64 // B's lock-wait events marked Remote
	regionB, _ := setup(t, region.Config{Backend: newLockingStore(t, table, shared), Expiration: time.Minute}, region.WithClock(clk),
		region.WithObserver(region.ObserverFunc(func(_ context.Context, e region.Event) {
			if e.Kind == region.EventLockWait && e.Remote {
				remoteWaits.Add(1)
			}
		})))

	started, release := make(chan struct{}), make(chan struct{})
	aDone := make(chan string)
	go func() {
		v, _ := region.GetOrCreate(ctx, regionA, "k", func(context.Context) (string, error) {
			close(started)
			<-release
			return "made by A", nil
		})
		aDone <- v
	}()
	<-started
	if locked, _ := regionB.KeyIsLocked(ctx, "k"); !locked {
		t.Fatal("B does not see A's creation lock")
	}
	var bCalls atomic.Int64
	bDone := make(chan string)
	go func() {
		v, _ := region.GetOrCreate(ctx, regionB, "k", func(context.Context) (string, error) {
			bCalls.Add(1)
			return "made by B", nil
		})
		bDone <- v
	}()
	waitFor(t, "B to wait for A's lock", func() bool { return regionB.Stats().LockWaits >= 1 })
	close(release)
	if v := <-aDone; v != "made by A" {
		t.Fatalf("A got %q", v)
	}
	if v := <-bDone; v != "made by A" || bCalls.Load() != 0 {
		t.Fatalf("B got %q with %d creator calls; want A's value and none", v, bCalls.Load())
	}
	if st := regionB.Stats(); st.LockWaits != 1 || st.RemoteLockWaits != 1 || remoteWaits.Load() != 1 {
		t.Fatalf("B waited on A's lock: LockWaits %d, RemoteLockWaits %d, remote lock-wait events %d; want 1 each",
			st.LockWaits, st.RemoteLockWaits, remoteWaits.Load())
	}

	// Stale value: B serves it at once while A holds the lock.
	clk.Advance(time.Hour)
	started2, release2 := make(chan struct{}), make(chan struct{})
	go func() {
		_, _ = region.GetOrCreate(ctx, regionA, "k", func(context.Context) (string, error) {
			close(started2)
			<-release2
			return "A again", nil
		})
		aDone <- ""
	}()
	<-started2
	v, err := region.GetOrCreate(ctx, regionB, "k", func(context.Context) (string, error) {
		bCalls.Add(1)
		return "B", nil
	})
	if err != nil || v != "made by A" || bCalls.Load() != 0 {
		t.Fatalf("B on a stale key locked by A = %q, %v, %d calls; want the stale value at once", v, err, bCalls.Load())
	}
	close(release2)
	<-aDone
	if locked, _ := regionA.KeyIsLocked(ctx, "k"); locked {
		t.Fatal("lock held after A's creation")
	}
}

func TestCrossProcessLockMulti(t *testing.T) {
	table := newLockTable()
	shared, _ := memory.New(memory.Options{})
	ctx := context.Background()
	const procs = 4
	var regions []*region.Region
	for range procs {
		r, _ := setup(t, region.Config{Backend: newLockingStore(t, table, shared)})
		regions = append(regions, r)
	}
	var mu sync.Mutex
	made := map[string]int{}
	create := func(_ context.Context, ks []string) ([]string, error) {
		time.Sleep(time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		for _, k := range ks {
			made[k]++
		}
		return ks, nil
	}
	var wg sync.WaitGroup
	for i := range procs * 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys := []string{"a", "b", "c", "d", "e"}[i%3 : i%3+3]
			got, err := region.GetOrCreateMulti(ctx, regions[i%procs], keys, create)
			if err != nil {
				t.Error(err)
				return
			}
			for j, k := range keys {
				if got[j] != k {
					t.Errorf("key %s = %q", k, got[j])
				}
			}
		}()
	}
	wg.Wait()
	for k, n := range made {
		if n != 1 {
			t.Errorf("key %s created %d times across %d processes, want 1", k, n, procs)
		}
	}
}
