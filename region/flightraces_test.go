package region_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/region"
)

// MultiFunc.Refresh must not store rows read before a write as current:
// a tagged multi-key function whose read races a tag bump (a write that
// committed while it ran) must leave nothing that a later call serves.
// Func.Refresh gets this right (ForceRefresh reads the tag versions before
// the function runs); MultiFunc.Refresh called the function and then Set,
// which reads the versions after.
func TestMultiFuncRefreshRacingAWrite(t *testing.T) {
	r, _ := setup(t, region.Config{})
	ctx := context.Background()
	var db atomic.Value // the "database"
	db.Store("old rows")
	var bumpDuringRead atomic.Bool
	fn := region.MustCacheMultiOnArguments(r, func(ctx context.Context, ids []int) (map[int]string, error) {
		out := map[int]string{}
		for _, id := range ids {
			out[id] = db.Load().(string) // the read
		}
		if bumpDuringRead.Load() {
			// A writer commits and bumps the tag after our read.
			db.Store("new rows")
			if err := r.InvalidateTags(ctx, "users"); err != nil {
				t.Error(err)
			}
		}
		return out, nil
	}, region.FuncName("users"), region.WithTags("users"))
	bumpDuringRead.Store(true)
	if _, err := fn.Refresh(ctx, 1); err != nil {
		t.Fatal(err)
	}
	bumpDuringRead.Store(false)
	got, err := fn.Call(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got[1] != "new rows" {
		t.Fatalf("after a Refresh that raced a write, Call(1) = %q; want %q (the refresh stored rows read before the write as current)", got[1], "new rows")
	}
}

// The same with a hard invalidation of the region: a value whose creation
// began before the invalidation must not count as made after it.
func TestMultiFuncRefreshRacingHardInvalidation(t *testing.T) {
	r, clk := setup(t, region.Config{})
	ctx := context.Background()
	var db atomic.Value
	db.Store("old rows")
	var invalidateDuringRead atomic.Bool
	fn := region.MustCacheMultiOnArguments(r, func(ctx context.Context, ids []int) (map[int]string, error) {
		out := map[int]string{}
		for _, id := range ids {
			out[id] = db.Load().(string)
		}
		if invalidateDuringRead.Load() {
			clk.Advance(time.Second)
			db.Store("new rows")
			if err := r.Invalidate(ctx, true); err != nil {
				t.Error(err)
			}
		}
		return out, nil
	}, region.FuncName("users"))
	invalidateDuringRead.Store(true)
	if _, err := fn.Refresh(ctx, 1); err != nil {
		t.Fatal(err)
	}
	invalidateDuringRead.Store(false)
	got, err := fn.Call(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got[1] != "new rows" {
		t.Fatalf("after a Refresh that raced a hard invalidation, Call(1) = %q; want %q", got[1], "new rows")
	}
}

// An observer that panics while GetOrCreateMulti is still joining the
// flights of its keys must not leave the flights it already leads
// unlanded: the keys would stay locked, and every later caller of them
// would wait forever.
func TestMultiObserverPanicLeavesNoKeyLocked(t *testing.T) {
	var armed atomic.Bool
	r, _ := setup(t, region.Config{}, region.WithObserver(region.ObserverFunc(func(_ context.Context, e region.Event) {
		if armed.Load() && e.Kind == region.EventMiss && e.Key == "b" {
			armed.Store(false)
			panic("observer")
		}
	})))
	ctx := context.Background()
	armed.Store(true)
	func() {
		defer func() { _ = recover() }()
		_, _ = region.GetOrCreateMulti(ctx, r, []string{"a", "b"}, func(_ context.Context, keys []string) ([]string, error) {
			out := make([]string, len(keys))
			for i := range out {
				out[i] = "v"
			}
			return out, nil
		})
	}()
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	v, err := region.GetOrCreate(wctx, r, "a", func(context.Context) (string, error) { return "again", nil })
	if err != nil {
		locked, _ := r.KeyIsLocked(ctx, "a")
		t.Fatalf("GetOrCreate(a) after the observer's panic = %q, %v (key locked: %v); want a value", v, err, locked)
	}
}

// A caller that starts after Invalidate(hard) returned must not get a value
// whose creation began before it: it joins a creation already under way
// (its lookup missed), and takes that creation's result, made from data
// read before the invalidation. Tagged calls guard against exactly this
// (joinable); region-wide hard invalidation does not.
func TestWaiterAfterHardInvalidationGetsANewValue(t *testing.T) {
	r, clk := setup(t, region.Config{})
	ctx := context.Background()
	var db atomic.Value
	db.Store("old rows")
	read, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int64
	create := func(context.Context) (string, error) {
		v := db.Load().(string)
		if calls.Add(1) == 1 {
			close(read)
			<-release
		}
		return v, nil
	}
	aDone := make(chan string)
	go func() {
		v, err := region.GetOrCreate(ctx, r, "k", create)
		if err != nil {
			t.Error(err)
		}
		aDone <- v
	}()
	<-read // A's creator has read the old rows
	clk.Advance(time.Second)
	db.Store("new rows")
	if err := r.Invalidate(ctx, true); err != nil { // the write, and its invalidation
		t.Fatal(err)
	}
	// B begins after the invalidation returned.
	bDone := make(chan string)
	go func() {
		v, err := region.GetOrCreate(ctx, r, "k", create)
		if err != nil {
			t.Error(err)
		}
		bDone <- v
	}()
	waitFor(t, "B to wait on A's creation", func() bool { return r.Stats().LockWaits >= 1 })
	close(release)
	<-aDone
	if v := <-bDone; v != "new rows" {
		t.Fatalf("B, which began after Invalidate(hard), got %q; want %q", v, "new rows")
	}
}

// The same for GetOrCreateMulti.
func TestMultiWaiterAfterHardInvalidationGetsANewValue(t *testing.T) {
	r, clk := setup(t, region.Config{})
	ctx := context.Background()
	var db atomic.Value
	db.Store("old rows")
	read, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int64
	create := func(_ context.Context, keys []string) ([]string, error) {
		v := db.Load().(string)
		if calls.Add(1) == 1 {
			close(read)
			<-release
		}
		out := make([]string, len(keys))
		for i := range out {
			out[i] = v
		}
		return out, nil
	}
	aDone := make(chan []string)
	go func() {
		v, err := region.GetOrCreateMulti(ctx, r, []string{"k"}, create)
		if err != nil {
			t.Error(err)
		}
		aDone <- v
	}()
	<-read
	clk.Advance(time.Second)
	db.Store("new rows")
	if err := r.Invalidate(ctx, true); err != nil {
		t.Fatal(err)
	}
	bDone := make(chan []string)
	go func() {
		v, err := region.GetOrCreateMulti(ctx, r, []string{"k"}, create)
		if err != nil {
			t.Error(err)
		}
		bDone <- v
	}()
	waitFor(t, "B to wait on A's creation", func() bool { return r.Stats().LockWaits >= 1 })
	close(release)
	<-aDone
	if v := <-bDone; len(v) != 1 || v[0] != "new rows" {
		t.Fatalf("B, which began after Invalidate(hard), got %q; want [new rows]", v)
	}
}

// hookedStore is a lockingStore whose mutexes run a hook after taking the
// lock and before releasing it.
type hookedStore struct {
	*lockingStore
	locked, unlocking func(key string)
}

func (s *hookedStore) Mutex(key string) backend.Mutex {
	return &hookedMutex{Mutex: s.lockingStore.Mutex(key), s: s, key: key}
}

type hookedMutex struct {
	backend.Mutex
	s   *hookedStore
	key string
}

func (m *hookedMutex) Lock(ctx context.Context) error {
	if err := m.Mutex.Lock(ctx); err != nil {
		return err
	}
	m.s.locked(m.key)
	return nil
}

func (m *hookedMutex) TryLock(ctx context.Context) (bool, error) {
	ok, err := m.Mutex.TryLock(ctx)
	if ok {
		m.s.locked(m.key)
	}
	return ok, err
}

func (m *hookedMutex) Unlock(ctx context.Context) error {
	m.s.unlocking(m.key)
	return m.Mutex.Unlock(ctx)
}

// The same for a value that GetOrCreateMulti's creation did not make but
// found when it looked again under the lock (another process made it while
// this one waited for the lock): B, which began after Invalidate(hard), joins
// the creation before it lands, and must not take the value found.
func TestMultiWaiterAfterHardInvalidationSkipsAFoundValue(t *testing.T) {
	ctx := context.Background()
	store := &hookedStore{lockingStore: newLockingStore(t, newLockTable(), nil)}
	r, clk := setup(t, region.Config{Backend: store})
	var db atomic.Value
	db.Store("new rows")
	var lockedOnce, unlockOnce sync.Once
	bDone := make(chan []string, 1)
	create := func(_ context.Context, keys []string) ([]string, error) {
		out := make([]string, len(keys))
		for i := range out {
			out[i] = db.Load().(string)
		}
		return out, nil
	}
	store.locked = func(string) {
		lockedOnce.Do(func() {
			// Another process made the value while A waited for the lock.
			if err := region.Set(ctx, r, "k", "old rows"); err != nil {
				t.Error(err)
			}
		})
	}
	store.unlocking = func(string) {
		unlockOnce.Do(func() {
			// A found "old rows" fresh and is about to land it: the write
			// and its invalidation happen now, and B begins after them.
			clk.Advance(time.Second)
			if err := r.Invalidate(ctx, true); err != nil {
				t.Error(err)
			}
			go func() {
				v, err := region.GetOrCreateMulti(ctx, r, []string{"k"}, create)
				if err != nil {
					t.Error(err)
				}
				bDone <- v
			}()
			waitFor(t, "B to wait on A's creation", func() bool { return r.Stats().LockWaits >= 1 })
		})
	}
	a, err := region.GetOrCreateMulti(ctx, r, []string{"k"}, create)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 1 || a[0] != "old rows" {
		t.Fatalf("A got %q; want [old rows], the value found under the lock", a)
	}
	if v := <-bDone; len(v) != 1 || v[0] != "new rows" {
		t.Fatalf("B, which began after Invalidate(hard), got %q; want [new rows]", v)
	}
}
