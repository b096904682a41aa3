package invalidation_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/clock"
	"github.com/dogpile-go/dogpile/invalidation"
	"github.com/dogpile-go/dogpile/region"
)

var errDown = errors.New("store down")

// flaky is a proxy whose tag calls fail while down is set, and which
// counts mark renewals.
type flaky struct {
	backend.ProxyBackend
	down  atomic.Bool
	marks atomic.Int64
}

func (f *flaky) TagStates(ctx context.Context, tags []string) ([]backend.TagState, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.ProxyBackend.TagStates(ctx, tags)
}

func (f *flaky) BumpTags(ctx context.Context, tags []string) error {
	if f.down.Load() {
		return errDown
	}
	return f.ProxyBackend.BumpTags(ctx, tags)
}

func (f *flaky) MarkPending(ctx context.Context, tags []string, owner string, lease time.Duration) error {
	if f.down.Load() {
		return errDown
	}
	f.marks.Add(1)
	return f.ProxyBackend.MarkPending(ctx, tags, owner, lease)
}

func (f *flaky) ReleasePending(ctx context.Context, tags []string, owner string, bump bool) error {
	if f.down.Load() {
		return errDown
	}
	return f.ProxyBackend.ReleasePending(ctx, tags, owner, bump)
}

type fixture struct {
	store *memory.Store
	flaky *flaky
	tags  *invalidation.Tags
	clk   *clock.Manual
}

func newFixture(t *testing.T, o invalidation.Options) *fixture {
	t.Helper()
	clk := clock.NewManual(time.Now())
	store, err := memory.New(memory.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	f := &flaky{}
	b, _ := backend.Wrap(store, f)
	if o.RetryMin == 0 {
		o.RetryMin, o.RetryMax = time.Millisecond, 10*time.Millisecond
	}
	tags, err := invalidation.NewTags(b, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		tags.Close(ctx)
	})
	return &fixture{store: store, flaky: f, tags: tags, clk: clk}
}

func (fx *fixture) state(t *testing.T, ts backend.TagStore, tag string) backend.TagState {
	t.Helper()
	st, err := ts.TagStates(context.Background(), []string{tag})
	if err != nil {
		t.Fatal(err)
	}
	return st[0]
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitUntil(t, 10*time.Second, what, cond)
}

func TestWriteSetCommit(t *testing.T) {
	fx := newFixture(t, invalidation.Options{})
	ctx := context.Background()
	before := fx.state(t, fx.store, "t:orders")
	ws := fx.tags.Begin()
	if err := ws.Touch(ctx, "t:orders", "t:orders"); err != nil {
		t.Fatal(err)
	}
	if err := ws.Touch(ctx, "t:orders"); err != nil {
		t.Fatal(err)
	}
	if got := ws.Tags(); len(got) != 1 || got[0] != "t:orders" {
		t.Fatalf("Tags() = %v", got)
	}
	// Every process sees the mark in the store; this one also holds it.
	if st := fx.state(t, fx.store, "t:orders"); !st.Pending || st.Version != before.Version {
		t.Fatalf("after Touch the store says %+v, want pending at the old version", st)
	}
	if held := fx.tags.Held(); len(held) != 1 {
		t.Fatalf("Held() = %v", held)
	}
	if err := ws.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if st := fx.state(t, fx.store, "t:orders"); st.Pending || st.Version == before.Version {
		t.Fatalf("after Commit the store says %+v, want released and bumped", st)
	}
	if held := fx.tags.Held(); len(held) != 0 {
		t.Fatalf("Held() after Commit = %v", held)
	}
	if err := ws.Commit(ctx); !errors.Is(err, invalidation.ErrFinished) {
		t.Fatalf("second Commit = %v, want ErrFinished", err)
	}
	if err := ws.Touch(ctx, "t:x"); !errors.Is(err, invalidation.ErrFinished) {
		t.Fatalf("Touch after Commit = %v, want ErrFinished", err)
	}
}

func TestWriteSetRollback(t *testing.T) {
	fx := newFixture(t, invalidation.Options{})
	ctx := context.Background()
	before := fx.state(t, fx.store, "t:orders")
	ws := fx.tags.Begin()
	_ = ws.Touch(ctx, "t:orders")
	if err := ws.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if st := fx.state(t, fx.store, "t:orders"); st != before {
		t.Fatalf("after Rollback the store says %+v, want %+v: released, not bumped", st, before)
	}
	// An empty write set finishes without a call to the store.
	if err := fx.tags.Begin().Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// A region on Tags bypasses the cache for tags this process holds, even
// when the store refused the mark.
func TestRegionSeesHeldTags(t *testing.T) {
	fx := newFixture(t, invalidation.Options{})
	r := region.New("r")
	r.MustConfigure(region.Config{Backend: fx.tags})
	ctx := context.Background()
	tags := region.WithTags("t:orders")
	var calls atomic.Int64
	create := func(context.Context) (int64, error) { return calls.Add(1), nil }
	_, _ = region.GetOrCreate(ctx, r, "q", create, tags)
	if v, _ := region.GetOrCreate(ctx, r, "q", create, tags); v != 1 {
		t.Fatalf("not cached: %d", v)
	}
	fx.flaky.down.Store(true)
	ws := fx.tags.Begin()
	if err := ws.Touch(ctx, "t:orders"); !errors.Is(err, errDown) {
		t.Fatalf("Touch with the store down = %v, want its error", err)
	}
	fx.flaky.down.Store(false)
	// The store has no mark, but this process holds the tag.
	if v, _ := region.GetOrCreate(ctx, r, "q", create, tags); v != 2 {
		t.Fatalf("a held tag served the cached value (%d)", v)
	}
	if err := ws.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if v, _ := region.GetOrCreate(ctx, r, "q", create, tags); v != 3 {
		t.Fatalf("after the commit the old value (%d) was served", v)
	}
	if v, _ := region.GetOrCreate(ctx, r, "q", create, tags); v != 3 {
		t.Fatalf("caching did not resume after the commit (%d)", v)
	}
}

// The store is away when the transaction commits: Commit reports the bump
// as deferred, this process keeps bypassing the tag, and the bump lands
// once the store is back.
func TestCommitDeferredWhileStoreDown(t *testing.T) {
	var reported atomic.Int64
	fx := newFixture(t, invalidation.Options{OnError: func(error) { reported.Add(1) }})
	ctx := context.Background()
	before := fx.state(t, fx.store, "t:orders")
	ws := fx.tags.Begin()
	_ = ws.Touch(ctx, "t:orders")
	fx.flaky.down.Store(true)
	err := ws.Commit(ctx)
	if !errors.Is(err, invalidation.ErrDeferred) || !errors.Is(err, errDown) {
		t.Fatalf("Commit with the store down = %v, want ErrDeferred wrapping its error", err)
	}
	if fx.tags.Owed() != 1 || len(fx.tags.Held()) != 1 {
		t.Fatalf("owed %d, held %v; want the bump owed and the tag held", fx.tags.Owed(), fx.tags.Held())
	}
	states, err := fx.tags.TagStates(ctx, []string{"t:orders"})
	if err == nil && !states[0].Pending {
		t.Fatal("this process does not treat the owed tag as pending")
	}
	// The store's mark is still there for other processes.
	if !fx.state(t, fx.store, "t:orders").Pending {
		t.Fatal("the mark vanished while the bump is owed")
	}
	time.Sleep(20 * time.Millisecond) // some retries fail meanwhile
	fx.flaky.down.Store(false)
	waitFor(t, "the owed bump", func() bool { return fx.tags.Owed() == 0 })
	if st := fx.state(t, fx.store, "t:orders"); st.Pending || st.Version == before.Version {
		t.Fatalf("after recovery the store says %+v, want released and bumped", st)
	}
	if len(fx.tags.Held()) != 0 {
		t.Fatalf("still held after the bump landed: %v", fx.tags.Held())
	}
	if reported.Load() == 0 {
		t.Fatal("OnError was not told")
	}
}

func TestInvalidateDeferred(t *testing.T) {
	fx := newFixture(t, invalidation.Options{})
	ctx := context.Background()
	before := fx.state(t, fx.store, "t:a")
	fx.flaky.down.Store(true)
	if err := fx.tags.Invalidate(ctx, "t:a"); !errors.Is(err, invalidation.ErrDeferred) {
		t.Fatalf("Invalidate with the store down = %v", err)
	}
	fx.flaky.down.Store(false)
	waitFor(t, "the owed bump", func() bool { return fx.tags.Owed() == 0 })
	if st := fx.state(t, fx.store, "t:a"); st.Version == before.Version {
		t.Fatal("the deferred bump never landed")
	}
	if err := fx.tags.Invalidate(ctx, "t:a"); err != nil {
		t.Fatal(err)
	}
}

// An open write set's marks are renewed, so a long transaction keeps its
// tags pending past the lease; a dead writer's (one never finished, on a
// store nobody renews) lapse.
func TestMarksRenewed(t *testing.T) {
	fx := newFixture(t, invalidation.Options{Lease: 10 * time.Second, RenewEvery: 10 * time.Millisecond})
	ctx := context.Background()
	ws := fx.tags.Begin()
	_ = ws.Touch(ctx, "t:long")
	for range 3 {
		n := fx.flaky.marks.Load()
		waitFor(t, "a renewal", func() bool { return fx.flaky.marks.Load() > n+1 })
		fx.clk.Advance(9 * time.Second) // past the first lease by now
		if !fx.state(t, fx.store, "t:long").Pending {
			t.Fatal("a long transaction's mark lapsed though it is renewed")
		}
	}
	_ = ws.Commit(ctx)
	// A writer that died: its mark is in the store, nobody renews it.
	_ = fx.store.MarkPending(ctx, []string{"t:dead"}, "dead-writer", 10*time.Second)
	fx.clk.Advance(11 * time.Second)
	if fx.state(t, fx.store, "t:dead").Pending {
		t.Fatal("a dead writer's mark outlived its lease")
	}
}

func TestConcurrentWriteSets(t *testing.T) {
	fx := newFixture(t, invalidation.Options{})
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				ws := fx.tags.Begin()
				_ = ws.Touch(ctx, fmt.Sprint("t:", i%3), fmt.Sprint("t:", g%4))
				if i%5 == 0 {
					_ = ws.Rollback(ctx)
				} else {
					_ = ws.Commit(ctx)
				}
			}
		}()
	}
	wg.Wait()
	if held := fx.tags.Held(); len(held) != 0 {
		t.Fatalf("tags held after every write set finished: %v", held)
	}
	for i := range 4 {
		if fx.state(t, fx.store, fmt.Sprint("t:", i)).Pending {
			t.Fatalf("t:%d still pending", i)
		}
	}
}

func TestOptionsAndStore(t *testing.T) {
	store, _ := memory.New(memory.Options{})
	if _, err := invalidation.NewTags(store, invalidation.Options{Lease: time.Second, RenewEvery: time.Second}); !errors.Is(err, invalidation.ErrBadOptions) {
		t.Fatalf("RenewEvery = Lease: %v", err)
	}
	if _, err := invalidation.NewTags(store, invalidation.Options{Lease: -1}); !errors.Is(err, invalidation.ErrBadOptions) {
		t.Fatalf("negative lease: %v", err)
	}
	type plain struct{ backend.Backend }
	if _, err := invalidation.NewTags(plain{store}, invalidation.Options{}); !errors.Is(err, backend.ErrNoTagStore) {
		t.Fatalf("store without tags: %v", err)
	}
	tags, _ := invalidation.NewTags(store, invalidation.Options{})
	if err := tags.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := tags.Begin().Touch(context.Background(), "t"); !errors.Is(err, invalidation.ErrClosed) {
		t.Fatalf("Touch after Close = %v", err)
	}
}
