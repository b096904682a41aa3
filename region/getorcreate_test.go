package region_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/clock"
	"github.com/dogpile-go/dogpile/region"
)

func TestGetOrCreateCaches(t *testing.T) {
	r, _ := setup(t, region.Config{Expiration: time.Minute})
	ctx := context.Background()
	var c counter
	for i := range 3 {
		v, err := region.GetOrCreate(ctx, r, "k", c.create)
		if err != nil || v != "v1" {
			t.Fatalf("call %d = %q, %v; want v1", i, v, err)
		}
	}
	if n := c.n.Load(); n != 1 {
		t.Fatalf("creator ran %d times, want 1", n)
	}
	st := r.Stats()
	if st.Hits != 2 || st.Misses != 1 || st.Created != 1 {
		t.Fatalf("stats = %+v, want 2 hits, 1 miss, 1 created", st)
	}
}

func TestExpiration(t *testing.T) {
	tests := []struct {
		name     string
		cfg      region.Config
		opts     []region.CallOption
		advance  time.Duration
		wantSame bool // the first value is still fresh after advance
	}{
		{"region expiration, young", region.Config{Expiration: time.Minute}, nil, 59 * time.Second, true},
		{"region expiration, exactly at the limit", region.Config{Expiration: time.Minute}, nil, time.Minute, true},
		{"region expiration, old", region.Config{Expiration: time.Minute}, nil, 61 * time.Second, false},
		{"no expiration", region.Config{}, nil, 1000 * time.Hour, true},
		{"call expiration overrides", region.Config{Expiration: time.Hour}, []region.CallOption{region.WithExpiration(time.Second)}, 2 * time.Second, false},
		{"call NoExpiration overrides", region.Config{Expiration: time.Second}, []region.CallOption{region.WithExpiration(region.NoExpiration)}, time.Hour, true},
		{"expiration function", region.Config{ExpirationFunc: func() time.Duration { return time.Second }}, nil, 2 * time.Second, false},
		{"call expiration function", region.Config{}, []region.CallOption{region.WithExpirationFunc(func() time.Duration { return time.Second })}, 2 * time.Second, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, clk := setup(t, tc.cfg)
			ctx := context.Background()
			var c counter
			if _, err := region.GetOrCreate(ctx, r, "k", c.create, tc.opts...); err != nil {
				t.Fatal(err)
			}
			clk.Advance(tc.advance)
			v, err := region.GetOrCreate(ctx, r, "k", c.create, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			want := "v2"
			if tc.wantSame {
				want = "v1"
			}
			if v != want {
				t.Fatalf("after %v: GetOrCreate = %q, want %q", tc.advance, v, want)
			}
			// Get judges freshness the same way.
			_, ok, err := region.Get[string](ctx, r, "other", tc.opts...)
			if err != nil || ok {
				t.Fatalf("Get of a missing key = %v, %v", ok, err)
			}
		})
	}
}

func TestExpirationFuncCalledPerCall(t *testing.T) {
	var calls atomic.Int64
	r, _ := setup(t, region.Config{ExpirationFunc: func() time.Duration { calls.Add(1); return time.Hour }})
	ctx := context.Background()
	for range 3 {
		if _, err := region.GetOrCreate(ctx, r, "k", (&counter{}).create); err != nil {
			t.Fatal(err)
		}
	}
	if n := calls.Load(); n < 2 {
		t.Fatalf("expiration function called %d times over 3 calls, want once per judged value", n)
	}
}

func TestGetStaleAndIgnoreExpiration(t *testing.T) {
	r, clk := setup(t, region.Config{Expiration: time.Minute})
	ctx := context.Background()
	if err := region.Set(ctx, r, "k", "old"); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := region.Get[string](ctx, r, "k"); err != nil || !ok || v != "old" {
		t.Fatalf("Get fresh = %q, %v, %v", v, ok, err)
	}
	clk.Advance(2 * time.Minute)
	if _, ok, err := region.Get[string](ctx, r, "k"); err != nil || ok {
		t.Fatalf("Get of an expired value = %v, %v; want no value", ok, err)
	}
	if v, ok, err := region.Get[string](ctx, r, "k", region.IgnoreExpiration()); err != nil || !ok || v != "old" {
		t.Fatalf("Get with IgnoreExpiration = %q, %v, %v; want old", v, ok, err)
	}
	if err := r.Invalidate(ctx, true); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := region.Get[string](ctx, r, "k", region.IgnoreExpiration()); err != nil || !ok || v != "old" {
		t.Fatalf("Get with IgnoreExpiration after hard invalidation = %q, %v, %v; want old, as dogpile", v, ok, err)
	}
}

// The stampede: 1,000 goroutines ask for a missing key; the creator runs
// once, and only after all of them wait for it, and they all get its value.
func TestStampedeOnMissingKey(t *testing.T) {
	r, _ := setup(t, region.Config{Expiration: time.Minute})
	ctx := context.Background()
	const n = 1000
	var calls atomic.Int64
	create := func(context.Context) (string, error) {
		calls.Add(1)
		// Hold the creation until every other caller waits for it.
		waitFor(t, "999 waiters", func() bool { return r.Stats().LockWaits >= n-1 })
		return "made", nil
	}
	var wg sync.WaitGroup
	results := make(chan string, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := region.GetOrCreate(ctx, r, "hot", create)
			if err != nil {
				t.Error(err)
			}
			results <- v
		}()
	}
	wg.Wait()
	close(results)
	for v := range results {
		if v != "made" {
			t.Fatalf("a caller got %q, want made", v)
		}
	}
	if c := calls.Load(); c != 1 {
		t.Fatalf("creator ran %d times for %d concurrent callers, want 1", c, n)
	}
	if st := r.Stats(); st.LockWaits != n-1 || st.RemoteLockWaits != 0 {
		t.Fatalf("LockWaits %d, RemoteLockWaits %d; want %d waits in this process and none on a backend lock", st.LockWaits, st.RemoteLockWaits, n-1)
	}
}

// On a stale key with a slow creator, every caller but the one creating
// gets the stale value at once, while the creation still runs.
func TestStampedeOnStaleKey(t *testing.T) {
	r, clk := setup(t, region.Config{Expiration: time.Minute})
	ctx := context.Background()
	if err := region.Set(ctx, r, "hot", "stale"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	const n = 1000
	release := make(chan struct{})
	var calls atomic.Int64
	create := func(context.Context) (string, error) {
		calls.Add(1)
		<-release
		return "new", nil
	}
	var staleCount, newCount atomic.Int64
	var returned sync.WaitGroup
	var all sync.WaitGroup
	returned.Add(n - 1)
	var once sync.Once
	for range n {
		all.Add(1)
		go func() {
			defer all.Done()
			v, err := region.GetOrCreate(ctx, r, "hot", create)
			if err != nil {
				t.Error(err)
			}
			switch v {
			case "stale":
				staleCount.Add(1)
				returned.Done()
			case "new":
				newCount.Add(1)
			default:
				t.Errorf("got %q", v)
				once.Do(func() { close(release) })
			}
		}()
	}
	// n-1 callers return while the creator is still blocked.
	returned.Wait()
	if c := calls.Load(); c != 1 {
		t.Fatalf("creator started %d times, want 1", c)
	}
	close(release)
	all.Wait()
	if staleCount.Load() != n-1 || newCount.Load() != 1 {
		t.Fatalf("stale %d, new %d; want %d and 1", staleCount.Load(), newCount.Load(), n-1)
	}
	if v, ok, _ := region.Get[string](ctx, r, "hot"); !ok || v != "new" {
		t.Fatalf("after the creation the cache holds %q, %v", v, ok)
	}
	if s := r.Stats().StaleServed; s != n-1 {
		t.Fatalf("StaleServed = %d, want %d", s, n-1)
	}
}

func TestHardAndSoftInvalidation(t *testing.T) {
	tests := []struct {
		name      string
		hard      bool
		wantOther string // what a concurrent caller gets while the new value is made
	}{
		{"hard: callers wait for the new value", true, "new"},
		{"soft: callers get the old value meanwhile", false, "old"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, clk := setup(t, region.Config{})
			ctx := context.Background()
			if err := region.Set(ctx, r, "k", "old"); err != nil {
				t.Fatal(err)
			}
			clk.Advance(time.Second)
			if err := r.Invalidate(ctx, tc.hard); err != nil {
				t.Fatal(err)
			}
			if _, ok, _ := region.Get[string](ctx, r, "k"); ok {
				t.Fatal("Get returned an invalidated value")
			}
			clk.Advance(time.Second)
			started, release := make(chan struct{}), make(chan struct{})
			create := func(context.Context) (string, error) {
				close(started)
				<-release
				return "new", nil
			}
			first := make(chan string)
			go func() {
				v, _ := region.GetOrCreate(ctx, r, "k", create)
				first <- v
			}()
			<-started
			other := make(chan string)
			go func() {
				v, _ := region.GetOrCreate(ctx, r, "k", create)
				other <- v
			}()
			if !tc.hard {
				if v := <-other; v != tc.wantOther {
					t.Fatalf("concurrent caller got %q, want %q", v, tc.wantOther)
				}
			}
			close(release)
			if v := <-first; v != "new" {
				t.Fatalf("creating caller got %q, want new", v)
			}
			if tc.hard {
				if v := <-other; v != tc.wantOther {
					t.Fatalf("concurrent caller got %q, want %q", v, tc.wantOther)
				}
			}
			if v, ok, _ := region.Get[string](ctx, r, "k"); !ok || v != "new" {
				t.Fatalf("after re-creation Get = %q, %v", v, ok)
			}
		})
	}
}

// A soft invalidation after a hard one must not make values the hard one
// removed servable again.
func TestSoftAfterHardInvalidation(t *testing.T) {
	r, clk := setup(t, region.Config{})
	ctx := context.Background()
	_ = region.Set(ctx, r, "k", "old")
	clk.Advance(time.Second)
	_ = r.Invalidate(ctx, true)
	clk.Advance(time.Second)
	_ = r.Invalidate(ctx, false)
	var c counter
	// No concurrent creation: if "old" were merely stale it could still
	// be served to a second caller. Check the first directly.
	v, err := region.GetOrCreate(ctx, r, "k", c.create)
	if err != nil || v != "v1" {
		t.Fatalf("GetOrCreate = %q, %v; want a new value", v, err)
	}
}

func TestCreatorErrorReachesEveryWaiterAndIsNotCached(t *testing.T) {
	r, _ := setup(t, region.Config{})
	ctx := context.Background()
	boom := errors.New("boom")
	var calls atomic.Int64
	const n = 50
	create := func(context.Context) (string, error) {
		calls.Add(1)
		waitFor(t, "waiters", func() bool { return r.Stats().LockWaits >= n-1 })
		return "", boom
	}
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := region.GetOrCreate(ctx, r, "k", create); !errors.Is(err, boom) {
				t.Errorf("waiter got %v, want boom", err)
			}
		}()
	}
	wg.Wait()
	if c := calls.Load(); c != 1 {
		t.Fatalf("creator ran %d times, want 1", c)
	}
	var c counter
	if v, err := region.GetOrCreate(ctx, r, "k", c.create); err != nil || v != "v1" {
		t.Fatalf("after a failed creation GetOrCreate = %q, %v; want a fresh creation", v, err)
	}
	if st := r.Stats(); st.CreateErrors != 1 {
		t.Fatalf("CreateErrors = %d, want 1", st.CreateErrors)
	}
}

func TestCreatorPanic(t *testing.T) {
	r, _ := setup(t, region.Config{})
	ctx := context.Background()
	const n = 20
	create := func(context.Context) (string, error) {
		waitFor(t, "waiters", func() bool { return r.Stats().LockWaits >= n-1 })
		panic("creator exploded")
	}
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := region.GetOrCreate(ctx, r, "k", create)
			var pe *region.PanicError
			if !errors.As(err, &pe) || pe.Value != "creator exploded" || len(pe.Stack) == 0 {
				t.Errorf("waiter got %v, want a *PanicError with the value and a stack", err)
			}
		}()
	}
	wg.Wait()
	if locked, err := r.KeyIsLocked(ctx, "k"); err != nil || locked {
		t.Fatalf("KeyIsLocked after a panic = %v, %v; want false", locked, err)
	}
	var c counter
	if v, err := region.GetOrCreate(ctx, r, "k", c.create); err != nil || v != "v1" {
		t.Fatalf("after a panic GetOrCreate = %q, %v", v, err)
	}
}

func TestPanicErrorUnwraps(t *testing.T) {
	r, _ := setup(t, region.Config{})
	sentinel := errors.New("sentinel")
	_, err := region.GetOrCreate(context.Background(), r, "k", func(context.Context) (int, error) { panic(sentinel) })
	if !errors.Is(err, sentinel) {
		t.Fatalf("panic with an error value: %v does not unwrap to it", err)
	}
}

// The caller whose call started the creation cancels: it gets its context's
// error, the creation goes on, and the other waiters get the value.
func TestFirstCallerCancels(t *testing.T) {
	r, _ := setup(t, region.Config{})
	started, release := make(chan struct{}), make(chan struct{})
	var creatorCtxErr atomic.Value
	create := func(ctx context.Context) (string, error) {
		close(started)
		<-release
		creatorCtxErr.Store(fmt.Sprint(ctx.Err()))
		return "made", nil
	}
	firstCtx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "request-1"))
	firstErr := make(chan error)
	go func() {
		_, err := region.GetOrCreate(firstCtx, r, "k", create)
		firstErr <- err
	}()
	<-started
	other := make(chan string)
	go func() {
		v, err := region.GetOrCreate(context.Background(), r, "k", create)
		if err != nil {
			t.Error(err)
		}
		other <- v
	}()
	waitFor(t, "second waiter", func() bool { return r.Stats().LockWaits >= 1 })
	cancel()
	if err := <-firstErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled first caller got %v, want context.Canceled", err)
	}
	close(release)
	if v := <-other; v != "made" {
		t.Fatalf("other waiter got %q, want made", v)
	}
	if got := creatorCtxErr.Load(); got != "<nil>" {
		t.Fatalf("creator's context was %v after the first caller canceled, want not canceled", got)
	}
	if v, ok, _ := region.Get[string](context.Background(), r, "k"); !ok || v != "made" {
		t.Fatalf("value not cached after the first caller canceled: %q, %v", v, ok)
	}
}

type ctxKey struct{}

func TestCreatorSeesCallerValues(t *testing.T) {
	r, _ := setup(t, region.Config{})
	ctx := context.WithValue(context.Background(), ctxKey{}, "trace-7")
	v, err := region.GetOrCreate(ctx, r, "k", func(ctx context.Context) (string, error) {
		s, _ := ctx.Value(ctxKey{}).(string)
		return s, nil
	})
	if err != nil || v != "trace-7" {
		t.Fatalf("creator saw %q, %v; want the caller's context values", v, err)
	}
}

func TestWaiterStopsOnItsOwnContext(t *testing.T) {
	r, _ := setup(t, region.Config{})
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{})
	go region.GetOrCreate(context.Background(), r, "k", func(context.Context) (string, error) {
		close(started)
		<-release
		return "x", nil
	})
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := region.GetOrCreate(ctx, r, "k", (&counter{}).create)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiter past its deadline got %v, want DeadlineExceeded", err)
	}
}

func TestShouldCache(t *testing.T) {
	r, _ := setup(t, region.Config{})
	ctx := context.Background()
	var calls atomic.Int64
	create := func(context.Context) (string, error) { calls.Add(1); return "", nil }
	nonEmpty := region.ShouldCache(func(s string) bool { return s != "" })
	for range 2 {
		if v, err := region.GetOrCreate(ctx, r, "k", create, nonEmpty); err != nil || v != "" {
			t.Fatalf("GetOrCreate = %q, %v", v, err)
		}
	}
	if calls.Load() != 2 {
		t.Fatalf("a value ShouldCache rejected was cached: creator ran %d times, want 2", calls.Load())
	}
}

func TestTypeMismatch(t *testing.T) {
	r, _ := setup(t, region.Config{})
	ctx := context.Background()
	_ = region.Set(ctx, r, "k", 42)
	_, err := region.GetOrCreate(ctx, r, "k", (&counter{}).create)
	if !errors.Is(err, region.ErrTypeMismatch) {
		t.Fatalf("GetOrCreate[string] over an int = %v, want ErrTypeMismatch", err)
	}
}

func TestNilInterfaceValue(t *testing.T) {
	r, _ := setup(t, region.Config{})
	ctx := context.Background()
	var calls atomic.Int64
	create := func(context.Context) (error, error) { calls.Add(1); return nil, nil }
	for range 2 {
		v, err := region.GetOrCreate(ctx, r, "k", create)
		if err != nil || v != nil {
			t.Fatalf("GetOrCreate = %v, %v", v, err)
		}
	}
	if calls.Load() != 1 {
		t.Fatalf("a nil interface value was not cached: %d calls", calls.Load())
	}
}

func TestFormatVersionMismatchIsMiss(t *testing.T) {
	r, _ := setup(t, region.Config{})
	ctx := context.Background()
	_ = r.Backend().Set(ctx, "k", backend.Entry{Value: "from another version", Meta: backend.Metadata{Created: t0, Version: 99}})
	var c counter
	if v, err := region.GetOrCreate(ctx, r, "k", c.create); err != nil || v != "v1" {
		t.Fatalf("GetOrCreate over an entry of another version = %q, %v; want a new value", v, err)
	}
}

func TestKeyIsLocked(t *testing.T) {
	r, _ := setup(t, region.Config{})
	ctx := context.Background()
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		region.GetOrCreate(ctx, r, "k", func(context.Context) (int, error) {
			close(started)
			<-release
			return 1, nil
		})
	}()
	<-started
	if locked, _ := r.KeyIsLocked(ctx, "k"); !locked {
		t.Fatal("KeyIsLocked during creation = false")
	}
	if locked, _ := r.KeyIsLocked(ctx, "other"); locked {
		t.Fatal("KeyIsLocked of an idle key = true")
	}
	close(release)
	<-done
	if locked, _ := r.KeyIsLocked(ctx, "k"); locked {
		t.Fatal("KeyIsLocked after creation = true")
	}
}

// A call with no options on the memory store takes the fast hit path; one
// with an option that changes nothing takes the general path. Both must
// come to the same answer in every state an entry can be in.
func TestFastHitAgreesWithGeneralPath(t *testing.T) {
	ctx := context.Background()
	same := region.WithExpiration(time.Minute) // the region's own expiration
	cases := []struct {
		name    string
		prepare func(t *testing.T, r *region.Region, clk *clock.Manual, key string)
		want    string // "" when an error is wanted
		wantErr error
		start   time.Time // the clock when the value is set; zero: t0
	}{
		{"fresh", func(*testing.T, *region.Region, *clock.Manual, string) {}, "old", nil, time.Time{}},
		{"at its expiration", func(_ *testing.T, _ *region.Region, clk *clock.Manual, _ string) { clk.Advance(time.Minute) }, "old", nil, time.Time{}},
		{"hard-invalidated as it was made", func(t *testing.T, r *region.Region, _ *clock.Manual, _ string) {
			if err := r.Invalidate(ctx, true); err != nil {
				t.Fatal(err)
			}
		}, "old", nil, time.Time{}},
		{"made before 1970", func(*testing.T, *region.Region, *clock.Manual, string) {}, "old", nil, time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"expired", func(_ *testing.T, _ *region.Region, clk *clock.Manual, _ string) { clk.Advance(2 * time.Minute) }, "new", nil, time.Time{}},
		{"soft-invalidated", func(t *testing.T, r *region.Region, clk *clock.Manual, _ string) {
			clk.Advance(time.Second)
			if err := r.Invalidate(ctx, false); err != nil {
				t.Fatal(err)
			}
		}, "new", nil, time.Time{}},
		{"hard-invalidated", func(t *testing.T, r *region.Region, clk *clock.Manual, _ string) {
			clk.Advance(time.Second)
			if err := r.Invalidate(ctx, true); err != nil {
				t.Fatal(err)
			}
		}, "new", nil, time.Time{}},
		{"another type", func(t *testing.T, r *region.Region, _ *clock.Manual, key string) {
			if err := region.Set(ctx, r, key, 42); err != nil {
				t.Fatal(err)
			}
		}, "", region.ErrTypeMismatch, time.Time{}},
		{"tag invalidated", func(t *testing.T, r *region.Region, _ *clock.Manual, key string) {
			// The entry is remade by a tagged call; an untagged call still
			// checks its tags.
			if _, err := region.GetOrCreate(ctx, r, key, func(context.Context) (string, error) { return "tagged", nil }, region.WithTags("t")); err != nil {
				t.Fatal(err)
			}
			if err := r.InvalidateTags(ctx, "t"); err != nil {
				t.Fatal(err)
			}
		}, "new", nil, time.Time{}},
	}
	// The fast path has two copies, GetOrCreate's and Func.Call's.
	paths := []struct {
		name string
		get  func(r *region.Region, f *region.Func[string, string], key string) (string, error)
	}{
		{"GetOrCreate fast", func(r *region.Region, _ *region.Func[string, string], key string) (string, error) {
			return region.GetOrCreate(ctx, r, key, func(context.Context) (string, error) { return "new", nil })
		}},
		{"general", func(r *region.Region, _ *region.Func[string, string], key string) (string, error) {
			return region.GetOrCreate(ctx, r, key, func(context.Context) (string, error) { return "new", nil }, same)
		}},
		{"Func.Call fast", func(_ *region.Region, f *region.Func[string, string], _ string) (string, error) {
			return f.Call(ctx, "a")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := make([]region.Stats, len(paths))
			vals := make([]string, len(paths))
			errs := make([]error, len(paths))
			for i, p := range paths {
				r, clk := setup(t, region.Config{Expiration: time.Minute})
				if !tc.start.IsZero() {
					clk.Set(tc.start)
				}
				f, err := region.CacheOnArguments(r, func(context.Context, string) (string, error) { return "new", nil })
				if err != nil {
					t.Fatal(err)
				}
				key := f.Key("a")
				if err := region.Set(ctx, r, key, "old"); err != nil {
					t.Fatal(err)
				}
				tc.prepare(t, r, clk, key)
				vals[i], errs[i] = p.get(r, f, key)
				got[i] = r.Stats()
			}
			for i, p := range paths {
				if tc.wantErr != nil {
					if !errors.Is(errs[i], tc.wantErr) {
						t.Errorf("%s: error %v, want %v", p.name, errs[i], tc.wantErr)
					}
					continue
				}
				if errs[i] != nil || vals[i] != tc.want {
					t.Errorf("%s: %q, %v; want %q", p.name, vals[i], errs[i], tc.want)
				}
			}
			for i := 1; i < len(paths); i++ {
				if got[i] != got[0] {
					t.Errorf("stats differ:\n%-16s %+v\n%-16s %+v", paths[0].name, got[0], paths[i].name, got[i])
				}
			}
		})
	}
}
