package region_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/region"
)

func TestGetOrCreateMulti(t *testing.T) {
	r, clk := setup(t, region.Config{Expiration: time.Minute})
	ctx := context.Background()
	_ = region.Set(ctx, r, "b", "cached-b")
	var asked [][]string
	create := func(_ context.Context, keys []string) ([]string, error) {
		asked = append(asked, slices.Clone(keys))
		out := make([]string, len(keys))
		for i, k := range keys {
			out[i] = "made-" + k
		}
		return out, nil
	}
	got, err := region.GetOrCreateMulti(ctx, r, []string{"c", "b", "a", "c"}, create)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"made-c", "cached-b", "made-a", "made-c"}; !slices.Equal(got, want) {
		t.Fatalf("GetOrCreateMulti = %v, want %v", got, want)
	}
	if len(asked) != 1 || !slices.Equal(asked[0], []string{"a", "c"}) {
		t.Fatalf("creator was asked %v, want one call for [a c] (sorted, no repeats, only the missing)", asked)
	}
	// Everything is cached now.
	if _, err := region.GetOrCreateMulti(ctx, r, []string{"a", "b", "c"}, create); err != nil || len(asked) != 1 {
		t.Fatalf("second call asked the creator again: %v, %v", asked, err)
	}
	// Stale keys are made again by the caller that locks them.
	clk.Advance(2 * time.Minute)
	got, err = region.GetOrCreateMulti(ctx, r, []string{"a", "b"}, create)
	if err != nil || !slices.Equal(got, []string{"made-a", "made-b"}) || len(asked) != 2 {
		t.Fatalf("after expiry = %v, %v (asked %v)", got, err, asked)
	}
}

func TestGetOrCreateMultiCreatorErrors(t *testing.T) {
	r, _ := setup(t, region.Config{})
	ctx := context.Background()
	boom := errors.New("boom")
	tests := []struct {
		name   string
		create region.MultiCreator[int]
		want   error
	}{
		{"error", func(context.Context, []string) ([]int, error) { return nil, boom }, boom},
		{"wrong count", func(context.Context, []string) ([]int, error) { return []int{1}, nil }, region.ErrCreatorResult},
		{"panic", func(context.Context, []string) ([]int, error) { panic("multi") }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := region.GetOrCreateMulti(ctx, r, []string{"x", "y"}, tc.create)
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var pe *region.PanicError
			if tc.want == nil && !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *PanicError", err)
			}
			// The call returns with the first key's error; the other keys'
			// flights land right after.
			for _, k := range []string{"x", "y"} {
				waitFor(t, "key "+k+" unlocked after a failed creation", func() bool {
					locked, _ := r.KeyIsLocked(ctx, k)
					return !locked
				})
			}
		})
	}
}

// Many goroutines ask for overlapping sets of keys at once: nothing
// deadlocks, every key is created exactly once, and everyone gets the
// values for the keys they asked for.
func TestGetOrCreateMultiOverlapping(t *testing.T) {
	r, _ := setup(t, region.Config{})
	ctx := context.Background()
	var mu sync.Mutex
	made := map[string]int{}
	create := func(_ context.Context, keys []string) ([]string, error) {
		time.Sleep(time.Millisecond) // widen the window for overlaps
		mu.Lock()
		defer mu.Unlock()
		out := make([]string, len(keys))
		for i, k := range keys {
			made[k]++
			out[i] = "v" + k
		}
		return out, nil
	}
	const goroutines, keys = 64, 40
	var wg sync.WaitGroup
	done := make(chan struct{})
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range 5 {
				var ks []string
				for range 1 + rng.IntN(10) {
					ks = append(ks, fmt.Sprint(rng.IntN(keys)))
				}
				got, err := region.GetOrCreateMulti(ctx, r, ks, create)
				if err != nil {
					t.Error(err)
					return
				}
				for i, k := range ks {
					if got[i] != "v"+k {
						t.Errorf("key %s: got %q", k, got[i])
					}
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("overlapping GetOrCreateMulti calls deadlocked")
	}
	for k, n := range made {
		if n != 1 {
			t.Errorf("key %s created %d times, want 1", k, n)
		}
	}
}

// A single-key creation and a multi-key creation of the same key share one
// flight.
func TestMultiJoinsSingleFlight(t *testing.T) {
	var waits atomic.Int64 // lock-wait events, local
	r, _ := setup(t, region.Config{}, region.WithObserver(region.ObserverFunc(func(_ context.Context, e region.Event) {
		if e.Kind == region.EventLockWait && !e.Remote && e.Key == "k" {
			waits.Add(1)
		}
	})))
	ctx := context.Background()
	started, release := make(chan struct{}), make(chan struct{})
	single := make(chan string)
	go func() {
		v, _ := region.GetOrCreate(ctx, r, "k", func(context.Context) (string, error) {
			close(started)
			<-release
			return "single", nil
		})
		single <- v
	}()
	<-started
	var multiCalls atomic.Int64
	multi := make(chan []string)
	go func() {
		v, err := region.GetOrCreateMulti(ctx, r, []string{"k", "j"}, func(_ context.Context, keys []string) ([]string, error) {
			multiCalls.Add(1)
			if slices.Contains(keys, "k") {
				t.Errorf("multi creator asked for k, which another caller is creating")
			}
			return []string{"multi-j"}, nil
		})
		if err != nil {
			t.Error(err)
		}
		multi <- v
	}()
	waitFor(t, "multi call to wait", func() bool { return r.Stats().LockWaits >= 1 })
	close(release)
	if v := <-single; v != "single" {
		t.Fatalf("single = %q", v)
	}
	if v := <-multi; !slices.Equal(v, []string{"single", "multi-j"}) {
		t.Fatalf("multi = %v, want [single multi-j]", v)
	}
	// The multi call's wait for k is an event, as a single call's is.
	if st := r.Stats(); st.LockWaits != 1 || waits.Load() != 1 {
		t.Fatalf("LockWaits %d, lock-wait events for k %d; want 1 each", st.LockWaits, waits.Load())
	}
}

func TestGetSetDeleteMulti(t *testing.T) {
	r, clk := setup(t, region.Config{Expiration: time.Minute})
	ctx := context.Background()
	if err := region.SetMulti(ctx, r, map[string]int{"a": 1, "b": 2, "c": 3}); err != nil {
		t.Fatal(err)
	}
	got, err := region.GetMulti[int](ctx, r, []string{"a", "b", "zz"})
	if err != nil || len(got) != 2 || got["a"] != 1 || got["b"] != 2 {
		t.Fatalf("GetMulti = %v, %v", got, err)
	}
	if err := r.DeleteMulti(ctx, []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	got, _ = region.GetMulti[int](ctx, r, []string{"a", "b", "c"})
	if len(got) != 1 || got["c"] != 3 {
		t.Fatalf("after DeleteMulti GetMulti = %v", got)
	}
	clk.Advance(time.Hour)
	got, _ = region.GetMulti[int](ctx, r, []string{"c"})
	if len(got) != 0 {
		t.Fatalf("GetMulti returned an expired value: %v", got)
	}
	got, _ = region.GetMulti[int](ctx, r, []string{"c"}, region.IgnoreExpiration())
	if got["c"] != 3 {
		t.Fatalf("GetMulti with IgnoreExpiration = %v", got)
	}
	if err := r.Delete(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := region.Get[int](ctx, r, "c", region.IgnoreExpiration()); ok {
		t.Fatal("value present after Delete")
	}
}
