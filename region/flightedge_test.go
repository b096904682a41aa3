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

// Edge cases of sharing a flight, found in review: a refresh that joins a
// flight which made nothing, a tagged caller joining a multi-key flight
// that found a value, a MultiFunc's "no value" reaching other callers, and
// a creator that ends its goroutine.

// heldElsewhere is a store whose creation lock another process holds: a
// TryLock fails (the first one after waiting for release), and Lock
// succeeds at once.
type heldElsewhere struct {
	*memory.Store
	entered, release chan struct{}
	tries            atomic.Int64
}

func (s *heldElsewhere) Mutex(string) backend.Mutex { return (*busyMutex)(s) }

type busyMutex heldElsewhere

func (m *busyMutex) TryLock(context.Context) (bool, error) {
	if m.tries.Add(1) == 1 {
		close(m.entered)
		<-m.release
	}
	return false, nil
}
func (m *busyMutex) Lock(context.Context) error   { return nil }
func (m *busyMutex) Unlock(context.Context) error { return nil }

// A refresh that joins a flight which made nothing (the lock was held
// elsewhere) creates a value itself instead of serving the stale one.
func TestForceRefreshJoiningAFlightThatMadeNothing(t *testing.T) {
	ctx := context.Background()
	s, _ := memory.New(memory.Options{})
	b := &heldElsewhere{Store: s, entered: make(chan struct{}), release: make(chan struct{})}
	r, clk := setup(t, region.Config{Backend: b, Expiration: time.Minute})
	if err := region.Set(ctx, r, "k", "old"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Minute) // "old" is stale
	go region.GetOrCreate(ctx, r, "k", func(context.Context) (string, error) { return "A", nil })
	<-b.entered // A leads; its flight is in TryLock
	var called atomic.Bool
	got := make(chan string)
	go func() {
		v, err := region.GetOrCreate(ctx, r, "k", func(context.Context) (string, error) {
			called.Store(true)
			return "refreshed", nil
		}, region.ForceRefresh())
		if err != nil {
			t.Error(err)
		}
		got <- v
	}()
	waitFor(t, "the refresh to join A's flight", func() bool { return r.Stats().LockWaits == 1 })
	close(b.release)
	if v := <-got; v != "refreshed" || !called.Load() {
		t.Fatalf("ForceRefresh = %q, creator called %v; want a new value", v, called.Load())
	}
}

// pausingTags pauses the second TagStates call (a multi-key leader's look
// after taking its keys) until released.
type pausingTags struct {
	*memory.Store
	calls           atomic.Int64
	paused, release chan struct{}
}

func (s *pausingTags) TagStates(ctx context.Context, tags []string) ([]backend.TagState, error) {
	st, err := s.Store.TagStates(ctx, tags)
	if s.calls.Add(1) == 2 {
		close(s.paused)
		<-s.release
	}
	return st, err
}

// A multi-key flight that finds a value cached (rather than making one)
// does not pass it off as made after a tagged caller that joined began:
// that caller saw a tag bump the value predates.
func TestMultiFlightFoundValueIsNotNewToTaggedJoiner(t *testing.T) {
	ctx := context.Background()
	raw, _ := memory.New(memory.Options{})
	b := &pausingTags{Store: raw, paused: make(chan struct{}), release: make(chan struct{})}
	r, _ := setup(t, region.Config{Backend: b})
	other, _ := setup(t, region.Config{Backend: raw}) // another process on the same store
	tags := region.WithTags("t")
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = region.GetOrCreateMulti(ctx, r, []string{"k"}, func(context.Context, []string) ([]string, error) {
			return []string{"D-new"}, nil
		}, tags)
	}()
	<-b.paused // the leader read the tag's version v1 in its second look
	// The other process stores a value under v1; then a write bumps t.
	if err := region.Set(ctx, other, "k", "old-rows", tags); err != nil {
		t.Fatal(err)
	}
	if err := other.InvalidateTags(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	// C begins after the bump, so "old-rows" is no good to it.
	got := make(chan string)
	go func() {
		v, err := region.GetOrCreate(ctx, r, "k", func(context.Context) (string, error) { return "C-new", nil }, tags)
		if err != nil {
			t.Error(err)
		}
		got <- v
	}()
	waitFor(t, "C to join the multi-key flight", func() bool { return r.Stats().LockWaits == 1 })
	close(b.release)
	<-done
	if v := <-got; v == "old-rows" {
		t.Fatalf("a tagged caller that began after a bump got %q, recorded under the tag's old version", v)
	}
}

// A MultiFunc whose function leaves a key out lands "no value" for it;
// single- and multi-key callers that joined its flight make the value
// themselves instead of getting an error or a zero value.
func TestMultiFuncAbsentReachesNoOtherCaller(t *testing.T) {
	ctx := context.Background()
	r, _ := setup(t, region.Config{})
	started, release := make(chan struct{}), make(chan struct{})
	mf := region.MustCacheMultiOnArguments(r, func(_ context.Context, ks []string) (map[string]string, error) {
		close(started)
		<-release
		return map[string]string{}, nil // leaves "x" out
	}, region.KeyFunc(func(k string) string { return k }))
	mfDone := make(chan map[string]string)
	go func() {
		got, err := mf.Call(ctx, "x")
		if err != nil {
			t.Error(err)
		}
		mfDone <- got
	}()
	<-started
	var wg sync.WaitGroup
	var single string
	var multi []string
	var serr, merr error
	wg.Go(func() {
		single, serr = region.GetOrCreate(ctx, r, "x", func(context.Context) (string, error) { return "made", nil })
	})
	wg.Go(func() {
		multi, merr = region.GetOrCreateMulti(ctx, r, []string{"x"}, func(context.Context, []string) ([]string, error) {
			return []string{"made"}, nil
		})
	})
	waitFor(t, "both callers to join the MultiFunc's flight", func() bool { return r.Stats().LockWaits == 2 })
	close(release)
	wg.Wait()
	if serr != nil || single != "made" || merr != nil || len(multi) != 1 || multi[0] != "made" {
		t.Fatalf("callers on a flight that made no value: GetOrCreate = %q, %v; GetOrCreateMulti = %q, %v; want made, made", single, serr, multi, merr)
	}
	if got := <-mfDone; len(got) != 0 {
		t.Fatalf("the MultiFunc got %v; want no value for x, as its function made none", got)
	}
}

// A creator that ends its goroutine with runtime.Goexit instead of
// returning fails every waiter with ErrCreatorExited and leaves the key
// free, on the single-key, multi-key and async paths.
func TestCreatorGoexit(t *testing.T) {
	ctx := context.Background()
	exits := func(context.Context) (string, error) {
		runtime.Goexit()
		return "never", nil
	}
	check := func(t *testing.T, r *region.Region, err error) {
		t.Helper()
		if !errors.Is(err, region.ErrCreatorExited) {
			t.Fatalf("error = %v, want ErrCreatorExited", err)
		}
		if locked, _ := r.KeyIsLocked(ctx, "k"); locked {
			t.Fatal("the key is still locked")
		}
		if v, err := region.GetOrCreate(ctx, r, "k", func(context.Context) (string, error) { return "v", nil }); err != nil || v != "v" {
			t.Fatalf("a later call = %q, %v; want a new value", v, err)
		}
	}
	t.Run("single", func(t *testing.T) {
		r, _ := setup(t, region.Config{})
		_, err := region.GetOrCreate(ctx, r, "k", exits)
		check(t, r, err)
	})
	t.Run("multi", func(t *testing.T) {
		r, _ := setup(t, region.Config{})
		_, err := region.GetOrCreateMulti(ctx, r, []string{"k"}, func(ctx context.Context, _ []string) ([]string, error) {
			_, err := exits(ctx)
			return nil, err
		})
		check(t, r, err)
	})
	t.Run("async", func(t *testing.T) {
		pool, err := region.NewPool(region.PoolOptions{Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pool.Close(ctx) })
		r, clk := setup(t, region.Config{Expiration: time.Minute}, region.WithRunner(pool))
		if err := region.Set(ctx, r, "k", "old"); err != nil {
			t.Fatal(err)
		}
		clk.Advance(2 * time.Minute)
		if v, err := region.GetOrCreate(ctx, r, "k", exits); err != nil || v != "old" {
			t.Fatalf("stale read = %q, %v; want old at once", v, err)
		}
		// The job lands its flight with the error: the key is free again.
		waitFor(t, "the async job's flight to land", func() bool {
			locked, _ := r.KeyIsLocked(ctx, "k")
			return !locked && r.Stats().AsyncQueued == 1
		})
		if v, err := region.GetOrCreate(ctx, r, "k", func(context.Context) (string, error) { return "new", nil }, region.ForceRefresh()); err != nil || v != "new" {
			t.Fatalf("a refresh after the exited job = %q, %v", v, err)
		}
	})
}

// An observer that panics on the lock-wait event of a backend lock just
// taken does not leave that lock held: the caller gets the panic as an
// error, and the key is free.
func TestObserverPanicAfterBackendLockReleasesIt(t *testing.T) {
	ctx := context.Background()
	table := newLockTable()
	shared, _ := memory.New(memory.Options{})
	a, _ := setup(t, region.Config{Backend: newLockingStore(t, table, shared)})
	b, _ := setup(t, region.Config{Backend: newLockingStore(t, table, shared)},
		region.WithObserver(region.ObserverFunc(func(_ context.Context, e region.Event) {
			if e.Kind == region.EventLockWait && e.Remote {
				panic("observer")
			}
		})))
	started, release := make(chan struct{}), make(chan struct{})
	aDone := make(chan struct{})
	go func() {
		defer close(aDone)
		_, _ = region.GetOrCreate(ctx, a, "k", func(context.Context) (string, error) {
			close(started)
			<-release
			return "", errors.New("A fails, so that B creates")
		})
	}()
	<-started
	bErr := make(chan error)
	go func() {
		_, err := region.GetOrCreate(ctx, b, "k", func(context.Context) (string, error) { return "B", nil })
		bErr <- err
	}()
	waitFor(t, "B to wait for A's lock", func() bool { return b.Stats().RemoteLockWaits == 1 })
	close(release)
	<-aDone
	var pe *region.PanicError
	if err := <-bErr; !errors.As(err, &pe) {
		t.Fatalf("B = %v; want the observer's panic as a *PanicError", err)
	}
	if locked, _ := a.KeyIsLocked(ctx, "k"); locked {
		t.Fatal("the backend lock B took is still held")
	}
}
