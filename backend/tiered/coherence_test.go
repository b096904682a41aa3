package tiered_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/redis"
	"github.com/dogpile-go/dogpile/backend/tiered"
	"github.com/dogpile-go/dogpile/clock"
	"github.com/dogpile-go/dogpile/internal/testenv"
	"github.com/dogpile-go/dogpile/region"
)

// deliveryBound is how long the tests give a message to arrive on a busy
// two-core machine; on loopback it takes well under a millisecond.
const deliveryBound = 5 * time.Second

// settle waits until to has received every message from has sent, so
// that a test's reads in to are not dropped by the late news of writes
// they already saw.
func settle(t *testing.T, from, to *tiered.Store) {
	t.Helper()
	sent := from.Stats().Published
	eventually(t, deliveryBound, "messages delivered", func() bool { return to.Stats().Received >= sent })
}

// A write or delete in one process drops the other's near copy, within
// the delivery of its message.
func TestWriteDropsOtherNearCopy(t *testing.T) {
	tests := []struct {
		name  string
		write func(s *tiered.Store, keys []string) error
		want  string // "" for missing
	}{
		{"Set", func(s *tiered.Store, keys []string) error { return s.Set(ctxBg, keys[0], entry("two")) }, "two"},
		{"SetWithTTL", func(s *tiered.Store, keys []string) error {
			return s.SetWithTTL(ctxBg, keys[0], entry("two"), time.Hour)
		}, "two"},
		{"SetMulti", func(s *tiered.Store, keys []string) error {
			return s.SetMulti(ctxBg, []backend.KeyedEntry{{Key: keys[0], Entry: entry("two")}, {Key: keys[1], Entry: entry("two")}}, 0)
		}, "two"},
		{"Delete", func(s *tiered.Store, keys []string) error { return s.Delete(ctxBg, keys[0]) }, ""},
		{"DeleteMulti", func(s *tiered.Store, keys []string) error { return s.DeleteMulti(ctxBg, keys) }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := pair(t, tiered.Options{})
			keys := []string{"k1", "k2"}
			for _, k := range keys {
				if err := a.Set(ctxBg, k, entry("one")); err != nil {
					t.Fatal(err)
				}
			}
			settle(t, a, b)
			if got, err := backend.GetMulti(ctxBg, b, keys); err != nil || string(got[0].Data) != "one" || string(got[1].Data) != "one" {
				t.Fatalf("b.GetMulti = %v, %v", got, err)
			}
			if !tiered.NearHas(b, "k1") || !tiered.NearHas(b, "k2") {
				t.Fatal("b did not keep what it read near")
			}
			hits := b.Stats().NearHits
			if p, _ := payloadOf(t, b, "k1"); p != "one" || b.Stats().NearHits != hits+1 {
				t.Fatalf("b's second read: %q, near hits %d → %d", p, hits, b.Stats().NearHits)
			}
			if err := tc.write(a, keys); err != nil {
				t.Fatal(err)
			}
			if p, ok := payloadOf(t, a, "k1"); p != tc.want || ok != (tc.want != "") {
				t.Fatalf("the writer reads %q, %v at once; want %q", p, ok, tc.want)
			}
			took := eventually(t, deliveryBound, "b sees the write", func() bool {
				p, ok := payloadOf(t, b, "k1")
				return p == tc.want && ok == (tc.want != "")
			})
			t.Logf("b saw the write after %v", took)
			if b.Stats().Received == 0 {
				t.Error("b received no message")
			}
		})
	}
}

// WatchKey hears of other processes' writes to a key.
func TestWatchKey(t *testing.T) {
	a, b := pair(t, tiered.Options{})
	var calls atomic.Int64
	stop := b.WatchKey("watched", func() { calls.Add(1) })
	if err := a.Set(ctxBg, "other", entry("x")); err != nil {
		t.Fatal(err)
	}
	if err := a.Set(ctxBg, "watched", entry("x")); err != nil {
		t.Fatal(err)
	}
	eventually(t, deliveryBound, "the watcher is called", func() bool { return calls.Load() == 1 })
	stop()
	stop()
	if err := a.Delete(ctxBg, "watched"); err != nil {
		t.Fatal(err)
	}
	if err := b.Set(ctxBg, "sync", entry("x")); err != nil { // b's own writes are not news to b
		t.Fatal(err)
	}
	eventually(t, deliveryBound, "the delete reaches b", func() bool { _, ok := payloadOf(t, b, "watched"); return !ok })
	if n := calls.Load(); n != 1 {
		t.Fatalf("watcher called %d times, want 1 (not after stop)", n)
	}
}

// taggedEntry stores key in s with the current versions of tags.
func taggedEntry(t *testing.T, s *tiered.Store, key, payload string, tags []string) {
	t.Helper()
	states, err := s.TagStates(ctxBg, tags)
	if err != nil {
		t.Fatal(err)
	}
	tv := make([]backend.TagVersion, len(tags))
	for i, tag := range tags {
		tv[i] = backend.TagVersion{Tag: tag, Version: states[i].Version}
	}
	if err := s.Set(ctxBg, key, entry(payload, tv...)); err != nil {
		t.Fatal(err)
	}
}

// valid reads key from s as a region would and reports whether the entry
// is there and current.
func valid(t *testing.T, s *tiered.Store, key string, tags []string) bool {
	t.Helper()
	e, ok, states, err := s.GetTagged(ctxBg, key, tags)
	if err != nil {
		t.Fatal(err)
	}
	return ok && !backend.AnyPending(states) && backend.TagsMatch(e.Meta.Tags, tags, states)
}

// In strict coherence a bump in one process makes the other's near hit a
// miss at once: no message is waited for.
func TestStrictBumpIsSeenAtOnce(t *testing.T) {
	a, b := pair(t, tiered.Options{Coherence: tiered.Strict})
	tags := []string{"t:orders", "t:users"}
	for i := range 200 {
		taggedEntry(t, a, "q", fmt.Sprint("rows", i), tags)
		settle(t, a, b)
		// Twice, on purpose: the first read fills b's near tier from
		// Redis, the second is served from it.
		if !valid(t, b, "q", tags) {
			t.Fatalf("round %d: a fresh entry is not valid in b", i)
		}
		if !valid(t, b, "q", tags) {
			t.Fatalf("round %d: a fresh entry is not valid in b's near tier", i)
		}
		if !tiered.NearHas(b, "q") {
			t.Fatalf("round %d: b did not keep the entry near", i)
		}
		if err := a.BumpTags(ctxBg, tags[i%2:i%2+1]); err != nil {
			t.Fatal(err)
		}
		// No wait: the very next read in b must not validate.
		if valid(t, b, "q", tags) {
			t.Fatalf("round %d: b served a near copy after a returned from a bump", i)
		}
	}
	st := b.Stats()
	if st.NearHits < 200 || st.TagChecks < 200 {
		t.Errorf("b's stats %+v: want ≥200 near hits checked against Redis", st)
	}
	// A pending mark is seen at once too.
	taggedEntry(t, a, "q", "rows", tags)
	if !valid(t, b, "q", tags) {
		t.Fatal("fresh entry invalid")
	}
	if err := a.MarkPending(ctxBg, tags[:1], "writer", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, _, states, _ := b.GetTagged(ctxBg, "q", tags); !states[0].Pending {
		t.Fatal("b did not see a's pending mark at once")
	}
}

// The same through regions: a commit through invalidation's write set in
// one process is seen by the next call in the other.
func TestStrictRegionsAcrossProcesses(t *testing.T) {
	a, b := pair(t, tiered.Options{})
	ra := region.New("a").MustConfigure(region.Config{Backend: a, Expiration: time.Hour})
	rb := region.New("b").MustConfigure(region.Config{Backend: b, Expiration: time.Hour})
	var db atomic.Int64 // the "table"
	read := func(context.Context) (int64, error) { return db.Load(), nil }
	tag := region.WithTags("t:items")
	for i := range 100 {
		if v, err := region.GetOrCreate(ctxBg, rb, "items", read, tag); err != nil || v != db.Load() {
			t.Fatalf("round %d: b read %d, %v; table holds %d", i, v, err, db.Load())
		}
		db.Add(1) // the write, then its commit's bump
		if err := ra.InvalidateTags(ctxBg, "t:items"); err != nil {
			t.Fatal(err)
		}
		if v, err := region.GetOrCreate(ctxBg, rb, "items", read, tag); err != nil || v != db.Load() {
			t.Fatalf("round %d: after a's commit b read %d, %v; table holds %d", i, v, err, db.Load())
		}
	}
	if h := b.Stats().NearHits; h == 0 {
		t.Error("b never hit its near tier")
	}
}

// In bounded coherence a near hit of a tagged entry costs no round trip,
// and a bump in another process is seen within the delivery of its
// message.
func TestBoundedBumpIsSeenWithinDelivery(t *testing.T) {
	a, b := pair(t, tiered.Options{Coherence: tiered.Bounded})
	tags := []string{"t:orders"}
	var worst time.Duration
	for i := range 50 {
		taggedEntry(t, a, "q", fmt.Sprint("rows", i), tags)
		settle(t, a, b)
		if !valid(t, b, "q", tags) {
			t.Fatalf("round %d: b does not see a's new entry", i)
		}
		before := b.Stats()
		for range 10 {
			if !valid(t, b, "q", tags) {
				t.Fatalf("round %d: a valid entry stopped validating with no bump", i)
			}
		}
		if d := b.Stats().CachedTagChecks - before.CachedTagChecks; d != 10 {
			t.Fatalf("round %d: %d of 10 near hits were checked without a round trip", i, d)
		}
		if err := a.BumpTags(ctxBg, tags); err != nil {
			t.Fatal(err)
		}
		took := eventually(t, time.Second, "b sees the bump within MaxTagAge", func() bool { return !valid(t, b, "q", tags) })
		worst = max(worst, took)
	}
	t.Logf("worst time for b to see a bump: %v", worst)
}

// In bounded coherence a tag state is never used past MaxTagAge, even when
// no message comes (here the bump is made behind the tiered store's back).
func TestBoundedMaxTagAge(t *testing.T) {
	clk := clock.NewManual(time.Now())
	ro := redis.Options{URL: testenv.SharedRedis(t).URL(), KeyPrefix: uniquePrefix(t)}
	s := open(t, tiered.Options{Redis: &ro, Coherence: tiered.Bounded, MaxTagAge: time.Second, Clock: clk})
	tags := []string{"t:x"}
	taggedEntry(t, s, "q", "rows", tags)
	if !valid(t, s, "q", tags) {
		t.Fatal("fresh entry invalid")
	}
	if err := s.Far().BumpTags(ctxBg, tags); err != nil { // no message
		t.Fatal(err)
	}
	clk.Advance(999 * time.Millisecond)
	if !valid(t, s, "q", tags) {
		t.Fatal("a cached state younger than MaxTagAge was read again (expected the cached one)")
	}
	clk.Advance(2 * time.Millisecond)
	if valid(t, s, "q", tags) {
		t.Fatal("a tag state older than MaxTagAge was used")
	}
}

// Writers and readers in two processes race on a few keys; once they stop
// and the last messages are delivered, every process reads what Redis
// holds. A near copy kept by a lost race would stay stale for good.
func TestRacingWritersConverge(t *testing.T) {
	a, b := pair(t, tiered.Options{})
	stores := []*tiered.Store{a, b}
	keys := []string{"r0", "r1", "r2"}
	var wg sync.WaitGroup
	var seq atomic.Int64
	deadline := time.Now().Add(time.Second)
	for g := range 8 {
		wg.Go(func() {
			s := stores[g%2]
			for i := 0; time.Now().Before(deadline); i++ {
				k := keys[i%len(keys)]
				var err error
				switch i % 7 {
				case 0:
					err = s.Set(ctxBg, k, entry(fmt.Sprint(seq.Add(1))))
				case 1:
					err = s.Delete(ctxBg, k)
				case 2:
					_, err = s.GetMulti(ctxBg, keys)
				case 3:
					err = s.SetMulti(ctxBg, []backend.KeyedEntry{{Key: k, Entry: entry(fmt.Sprint(seq.Add(1)))}}, 0)
				default:
					_, _, err = s.Get(ctxBg, k)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, k := range keys {
		want, wantOK, err := a.Far().Get(ctxBg, k)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range stores {
			eventually(t, deliveryBound, fmt.Sprintf("store %d reads %q as Redis holds it", i, k), func() bool {
				e, ok, err := s.Get(ctxBg, k)
				return err == nil && ok == wantOK && slices.Equal(e.Data, want.Data)
			})
		}
	}
	t.Logf("a: %+v", a.Stats())
}

// Read your writes under racing fills: while other goroutines keep filling
// the near tier (another process keeps invalidating the key), a Get after
// this process's Set returned never gives an older value. A fill that
// loses its race to a write must never be visible, not even for a moment.
func TestReadYourWritesUnderRacingFills(t *testing.T) {
	s, noise := pair(t, tiered.Options{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// repeat runs f on a goroutine of its own until stop closes.
	repeat := func(f func()) {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					f()
				}
			}
		})
	}
	repeat(func() { _ = tiered.PublishKeys(ctxBg, noise, "k") })
	for range 8 {
		repeat(func() { _, _, _ = s.Get(ctxBg, "k") })
	}
	var stale int
	var example string
	n := 0
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); n++ {
		want := strconv.Itoa(n)
		if err := s.Set(ctxBg, "k", entry(want)); err != nil {
			t.Fatal(err)
		}
		for range 20 {
			if e, ok, _ := s.Get(ctxBg, "k"); ok {
				if got, _ := strconv.Atoi(string(e.Data)); got < n {
					stale++
					example = string(e.Data) + " after writing " + want
				}
			}
		}
	}
	close(stop)
	wg.Wait()
	if stale > 0 {
		t.Fatalf("%d of %d reads after this process's own write gave an older value (%s)", stale, 20*n, example)
	}
}
