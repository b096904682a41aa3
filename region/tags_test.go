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

func tagStore(t *testing.T, r *region.Region) backend.TagStore {
	t.Helper()
	ts, err := backend.TagStoreOf(r.Backend())
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestTaggedValuesInvalidateByTag(t *testing.T) {
	r, _ := setup(t, region.Config{})
	ctx := context.Background()
	var c counter
	users := region.WithTags("t:users")
	orders := region.WithTags("t:orders", "t:users")
	get := func(key string, tags region.CallOption) string {
		t.Helper()
		v, err := region.GetOrCreate(ctx, r, key, c.create, tags)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	a, b, d := get("users-q", users), get("orders-q", orders), get("other", region.WithTags("t:other"))
	if get("users-q", users) != a || get("orders-q", orders) != b {
		t.Fatal("tagged values were not cached")
	}
	if err := r.InvalidateTags(ctx, "t:users"); err != nil {
		t.Fatal(err)
	}
	if get("users-q", users) == a || get("orders-q", orders) == b {
		t.Fatal("values tagged t:users survived its invalidation")
	}
	if get("other", region.WithTags("t:other")) != d {
		t.Fatal("a value with another tag was invalidated")
	}
	if _, ok, _ := region.Get[string](ctx, r, "other", region.WithTags("t:other")); !ok {
		t.Fatal("Get of a valid tagged value missed")
	}
	// Asking with other tags than the value was made with is a miss.
	if _, ok, _ := region.Get[string](ctx, r, "other", region.WithTags("t:users")); ok {
		t.Fatal("Get with other tags hit")
	}
}

// An invalidated tagged value is gone, not stale: concurrent callers wait
// for the new one instead of being served the old.
func TestTagInvalidationIsHard(t *testing.T) {
	r, clk := setup(t, region.Config{Expiration: time.Minute})
	ctx := context.Background()
	tags := region.WithTags("t")
	_ = region.Set(ctx, r, "k", "old", tags)
	_ = r.InvalidateTags(ctx, "t")
	clk.Advance(time.Second)
	started, release := make(chan struct{}), make(chan struct{})
	first := make(chan string)
	go func() {
		v, _ := region.GetOrCreate(ctx, r, "k", func(context.Context) (string, error) {
			close(started)
			<-release
			return "new", nil
		}, tags)
		first <- v
	}()
	<-started
	second := make(chan string)
	go func() {
		v, _ := region.GetOrCreate(ctx, r, "k", (&counter{}).create, tags)
		second <- v
	}()
	waitFor(t, "second caller to wait", func() bool { return r.Stats().LockWaits >= 1 })
	close(release)
	if a, b := <-first, <-second; a != "new" || b != "new" {
		t.Fatalf("callers got %q and %q, want the new value for both", a, b)
	}
}

// The stale set: a reader misses, reads the database, and before it stores
// what it read a writer commits and bumps the tag. The reader's value
// recorded the version from before the bump, so it is never served.
func TestStaleSetRejected(t *testing.T) {
	for _, serialized := range []bool{false, true} {
		s, _ := memory.New(memory.Options{Serialized: serialized})
		r, _ := setup(t, region.Config{Backend: s})
		ctx := context.Background()
		tags := region.WithTags("t:items")
		db := "v1" // the "database"
		var mu sync.Mutex
		readDone, commitDone := make(chan struct{}), make(chan struct{})
		got := make(chan string)
		go func() {
			v, err := region.GetOrCreate(ctx, r, "q", func(context.Context) (string, error) {
				mu.Lock()
				rows := db // the reader's query
				mu.Unlock()
				close(readDone)
				<-commitDone // paused between its database read and its cache fill
				return rows, nil
			}, tags)
			if err != nil {
				t.Error(err)
			}
			got <- v
		}()
		<-readDone
		mu.Lock()
		db = "v2" // the writer's commit
		mu.Unlock()
		if err := r.InvalidateTags(ctx, "t:items"); err != nil {
			t.Fatal(err)
		}
		close(commitDone)
		if v := <-got; v != "v1" {
			t.Fatalf("the reader got %q", v) // its own read is its own business
		}
		// Every read that begins after the commit sees v2.
		v, err := region.GetOrCreate(ctx, r, "q", func(context.Context) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			return db, nil
		}, tags)
		if err != nil || v != "v2" {
			t.Fatalf("serialized=%v: a read after the commit got %q, %v; the stale fill was served", serialized, v, err)
		}
	}
}

// While a tag is pending, tagged calls neither serve nor store cached
// values, and run at most one creator per key at a time in the process:
// callers that joined a creation which began before them (and so may have
// read rows from before a commit that happened in between) wait for it and
// share the next one, which began after all of them.
func TestPendingTagBypassesCache(t *testing.T) {
	r, _ := setup(t, region.Config{})
	ctx := context.Background()
	ts := tagStore(t, r)
	tags := region.WithTags("t:items")
	_ = region.Set(ctx, r, "q", "cached", tags)
	if err := ts.MarkPending(ctx, []string{"t:items"}, "tx-1", time.Minute); err != nil {
		t.Fatal(err)
	}
	var calls, running, most atomic.Int64
	const n = 50
	create := func(context.Context) (string, error) {
		if calls.Add(1) == 1 {
			waitFor(t, "waiters", func() bool { return r.Stats().LockWaits >= n-1 })
		} else {
			// A query takes a while: callers that come back meanwhile
			// join it (an instant creator would land before they did).
			time.Sleep(20 * time.Millisecond)
		}
		now := running.Add(1)
		defer running.Add(-1)
		if now > most.Load() {
			most.Store(now)
		}
		return "from the database", nil
	}
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := region.GetOrCreate(ctx, r, "q", create, tags)
			if err != nil || v != "from the database" {
				t.Errorf("while pending: %q, %v; want the creator's value, not the cached one", v, err)
			}
		}()
	}
	wg.Wait()
	// The first creation began before the others joined it, so they share
	// the next ones (a caller that comes back after a creation landed
	// starts another): one at a time, far fewer than the callers.
	if c := calls.Load(); c >= n/2 || most.Load() > 1 {
		t.Fatalf("creator ran %d times (at most %d at once) for %d concurrent callers while pending; want one at a time, shared", c, most.Load(), n)
	}
	if _, ok, _ := region.Get[string](ctx, r, "q", tags); ok {
		t.Fatal("Get served a cached value while its tag was pending")
	}
	// Nothing was stored meanwhile: after the writer's commit (bump and
	// release), the next call creates again and caches.
	if err := ts.ReleasePending(ctx, []string{"t:items"}, "tx-1", true); err != nil {
		t.Fatal(err)
	}
	var c counter
	v1, _ := region.GetOrCreate(ctx, r, "q", c.create, tags)
	v2, _ := region.GetOrCreate(ctx, r, "q", c.create, tags)
	if v1 != "v1" || v2 != "v1" || c.n.Load() != 1 {
		t.Fatalf("after release: %q, %q with %d creations; want one creation, then a hit", v1, v2, c.n.Load())
	}
}

func TestTaggedMulti(t *testing.T) {
	r, _ := setup(t, region.Config{})
	ctx := context.Background()
	tags := region.WithTags("t:users")
	var made atomic.Int64
	create := func(_ context.Context, ks []string) ([]string, error) {
		made.Add(int64(len(ks)))
		return ks, nil
	}
	if _, err := region.GetOrCreateMulti(ctx, r, []string{"a", "b"}, create, tags); err != nil {
		t.Fatal(err)
	}
	if _, err := region.GetOrCreateMulti(ctx, r, []string{"a", "b"}, create, tags); err != nil || made.Load() != 2 {
		t.Fatalf("second call made %d values, %v; want hits", made.Load(), err)
	}
	if got, _ := region.GetMulti[string](ctx, r, []string{"a", "b"}, tags); len(got) != 2 {
		t.Fatalf("GetMulti tagged = %v", got)
	}
	_ = r.InvalidateTags(ctx, "t:users")
	if got, _ := region.GetMulti[string](ctx, r, []string{"a", "b"}, tags); len(got) != 0 {
		t.Fatalf("GetMulti after invalidation = %v", got)
	}
	if _, err := region.GetOrCreateMulti(ctx, r, []string{"a", "b"}, create, tags); err != nil || made.Load() != 4 {
		t.Fatalf("after invalidation made %d values in all, %v; want 4", made.Load(), err)
	}
	// Pending: created, not stored.
	ts := tagStore(t, r)
	_ = ts.MarkPending(ctx, []string{"t:users"}, "tx", time.Minute)
	if _, err := region.GetOrCreateMulti(ctx, r, []string{"a"}, create, tags); err != nil || made.Load() != 5 {
		t.Fatalf("while pending made %d, %v", made.Load(), err)
	}
	_ = ts.ReleasePending(ctx, []string{"t:users"}, "tx", false)
	if _, err := region.GetOrCreateMulti(ctx, r, []string{"a"}, create, tags); err != nil || made.Load() != 5 {
		t.Fatalf("after a rollback the value from before is still good: made %d, %v", made.Load(), err)
	}
}

// An expired value whose tags are current is merely stale: served while one
// caller refreshes it.
func TestTaggedStaleServed(t *testing.T) {
	r, clk := setup(t, region.Config{Expiration: time.Minute})
	ctx := context.Background()
	tags := region.WithTags("t")
	_ = region.Set(ctx, r, "k", "old", tags)
	clk.Advance(time.Hour)
	release := make(chan struct{})
	started := make(chan struct{})
	go region.GetOrCreate(ctx, r, "k", func(context.Context) (string, error) {
		close(started)
		<-release
		return "new", nil
	}, tags)
	<-started
	v, err := region.GetOrCreate(ctx, r, "k", (&counter{}).create, tags)
	close(release)
	if err != nil || v != "old" {
		t.Fatalf("expired tagged value with current tags = %q, %v; want it served stale", v, err)
	}
}

// noTags hides the memory store's tag versions.
type noTags struct{ s *memory.Store }

func (n noTags) Get(ctx context.Context, k string) (backend.Entry, bool, error) {
	return n.s.Get(ctx, k)
}
func (n noTags) Set(ctx context.Context, k string, e backend.Entry) error { return n.s.Set(ctx, k, e) }
func (n noTags) Delete(ctx context.Context, k string) error               { return n.s.Delete(ctx, k) }

func TestTagsNeedATagStore(t *testing.T) {
	s, _ := memory.New(memory.Options{})
	r, _ := setup(t, region.Config{Backend: noTags{s}})
	ctx := context.Background()
	_, err := region.GetOrCreate(ctx, r, "k", (&counter{}).create, region.WithTags("t"))
	if !errors.Is(err, backend.ErrNoTagStore) {
		t.Fatalf("tagged call on a store without tags = %v, want ErrNoTagStore", err)
	}
	if err := r.InvalidateTags(ctx, "t"); !errors.Is(err, backend.ErrNoTagStore) {
		t.Fatalf("InvalidateTags = %v", err)
	}
}

// failingTags is a proxy whose tag reads fail.
type failingTags struct{ backend.ProxyBackend }

func (failingTags) GetTagged(context.Context, string, []string) (backend.Entry, bool, []backend.TagState, error) {
	return backend.Entry{}, false, nil, errDown
}
func (failingTags) TagStates(context.Context, []string) ([]backend.TagState, error) {
	return nil, errDown
}

// Tags that cannot be read validate nothing: the call goes to the creator,
// without failing (by default) and without storing.
func TestTagReadFailureBypasses(t *testing.T) {
	s, _ := memory.New(memory.Options{})
	r, _ := setup(t, region.Config{Backend: s, Wrap: []backend.Proxy{&failingTags{}}})
	ctx := context.Background()
	var c counter
	for i := range 2 {
		v, err := region.GetOrCreate(ctx, r, "k", c.create, region.WithTags("t"))
		if err != nil || v != "v"+itoa(int64(i+1)) {
			t.Fatalf("call %d = %q, %v", i, v, err)
		}
	}
	if r.Stats().BackendErrors == 0 {
		t.Fatal("tag read failures not counted")
	}
}

func TestForceRefresh(t *testing.T) {
	r, _ := setup(t, region.Config{})
	ctx := context.Background()
	var c counter
	tags := region.WithTags("t")
	a, _ := region.GetOrCreate(ctx, r, "k", c.create, tags)
	b, _ := region.GetOrCreate(ctx, r, "k", c.create, tags, region.ForceRefresh())
	d, _ := region.GetOrCreate(ctx, r, "k", c.create, tags)
	if a != "v1" || b != "v2" || d != "v2" {
		t.Fatalf("got %q, %q, %q; want v1, then a refresh to v2, then v2 cached", a, b, d)
	}
	vals, err := region.GetOrCreateMulti(ctx, r, []string{"m"}, func(_ context.Context, ks []string) ([]string, error) {
		return []string{"fresh"}, nil
	}, region.ForceRefresh())
	if err != nil || vals[0] != "fresh" {
		t.Fatalf("multi refresh = %v, %v", vals, err)
	}
}

// A refresh that races a write never stores the rows from before it as
// current: its versions are read before its creator runs.
func TestForceRefreshRacingWrite(t *testing.T) {
	r, _ := setup(t, region.Config{})
	ctx := context.Background()
	tags := region.WithTags("t")
	db := "v1"
	var mu sync.Mutex
	read, commit := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = region.GetOrCreate(ctx, r, "q", func(context.Context) (string, error) {
			mu.Lock()
			rows := db
			mu.Unlock()
			close(read)
			<-commit
			return rows, nil
		}, tags, region.ForceRefresh())
	}()
	<-read
	mu.Lock()
	db = "v2"
	mu.Unlock()
	_ = r.InvalidateTags(ctx, "t")
	close(commit)
	<-done
	if v, ok, _ := region.Get[string](ctx, r, "q", tags); ok {
		t.Fatalf("the racing refresh's old rows (%q) are served", v)
	}
}

// A caller that begins after a write must not take the value of a creation
// that began before it: it joins that flight (one creator per key), but
// the flight's value was read under older tag versions than the caller
// saw, so the caller looks again and gets a value made after the write.
func TestReadAfterBumpDoesNotTakeAnEarlierFlight(t *testing.T) {
	for _, multi := range []bool{false, true} {
		r, _ := setup(t, region.Config{})
		ctx := context.Background()
		tags := region.WithTags("t:items")
		var mu sync.Mutex
		db := "v1"
		read := func() string { mu.Lock(); defer mu.Unlock(); return db }
		firstRead, release := make(chan struct{}), make(chan struct{})
		var calls atomic.Int64
		get := func() (string, error) {
			if multi {
				vs, err := region.GetOrCreateMulti(ctx, r, []string{"q"}, func(context.Context, []string) ([]string, error) {
					v := read()
					if calls.Add(1) == 1 {
						close(firstRead)
						<-release
					}
					return []string{v}, nil
				}, tags)
				if err != nil {
					return "", err
				}
				return vs[0], nil
			}
			return region.GetOrCreate(ctx, r, "q", func(context.Context) (string, error) {
				v := read()
				if calls.Add(1) == 1 {
					close(firstRead)
					<-release
				}
				return v, nil
			}, tags)
		}
		early := make(chan string)
		go func() { v, _ := get(); early <- v }()
		<-firstRead // the early reader has read v1 and not yet stored it
		mu.Lock()
		db = "v2"
		mu.Unlock()
		if err := r.InvalidateTags(ctx, "t:items"); err != nil { // the write's commit returned
			t.Fatal(err)
		}
		late := make(chan string)
		go func() { v, _ := get(); late <- v }()
		waitFor(t, "the late reader to join the flight", func() bool { return r.Stats().LockWaits >= 1 })
		close(release)
		if v := <-early; v != "v1" {
			t.Fatalf("multi=%v: early reader got %q", multi, v)
		}
		if v := <-late; v != "v2" {
			t.Fatalf("multi=%v: a read that began after the write got %q from a creation that began before it", multi, v)
		}
	}
}

// Tags are a set: their order and repeats do not matter.
func TestTagsAreASet(t *testing.T) {
	r, _ := setup(t, region.Config{})
	ctx := context.Background()
	var c counter
	for _, tags := range [][]string{{"b", "a", "a"}, {"a", "b"}, {"b", "a"}, {"a", "a", "b", "b"}} {
		v, err := region.GetOrCreate(ctx, r, "k", c.create, region.WithTags(tags...))
		if err != nil || v != "v1" {
			t.Fatalf("tags %q: %q, %v; want the value made first", tags, v, err)
		}
	}
	if _, ok, _ := region.Get[string](ctx, r, "k", region.WithTags("a")); ok {
		t.Fatal("a subset of the tags hit")
	}
	// The caller's slice is not the option's: changing it later changes nothing.
	tags := []string{"a", "b"}
	opt := region.WithTags(tags...)
	tags[0] = "z"
	if v, err := region.GetOrCreate(ctx, r, "k", c.create, opt); err != nil || v != "v1" {
		t.Fatalf("after the caller changed its slice: %q, %v", v, err)
	}
}
