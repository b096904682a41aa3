package backendtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
)

// Harness tells the suite how to get a store.
type Harness struct {
	// New returns an empty store, or a view of one that no other test
	// sees (a fresh key prefix, say). The suite closes it at the end of
	// the test unless KeepOpen is set.
	New func(t *testing.T) backend.Backend
	// KeepOpen stops the suite from closing the stores New returns (when
	// they share a client that the caller closes).
	KeepOpen bool
	// CheckTTL, when set, is called after a write with a TTL and must
	// check that the store will drop the key after about ttl (by asking
	// the server for the key's TTL, or by moving a fake clock).
	CheckTTL func(t *testing.T, b backend.Backend, key string, ttl time.Duration)
	// SecondHandle, when set, returns another handle on the same store as
	// b (another client, another process's view), for the lock tests.
	// Without it the lock tests use b for both sides.
	SecondHandle func(t *testing.T, b backend.Backend) backend.Backend
	// AdvanceClock, when set, moves the clock that times the leases of
	// pending tag marks (the store's Clock option) by d. Without it the
	// lease test is skipped.
	AdvanceClock func(t *testing.T, d time.Duration)
	// ForgetTag, when set, makes the store lose its version of tag, as an
	// eviction or a flush would; the suite then checks that the tag comes
	// back with a version no entry can hold.
	ForgetTag func(t *testing.T, b backend.Backend, tag string)
}

// Run runs the conformance suite.
func Run(t *testing.T, h Harness) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness, b backend.Backend)
	}{
		{"GetMissing", testGetMissing},
		{"SetGet", testSetGet},
		{"Overwrite", testOverwrite},
		{"Delete", testDelete},
		{"Keys", testKeys},
		{"LargeValue", testLargeValue},
		{"Multi", testMulti},
		{"MultiEmpty", testMultiEmpty},
		{"TTL", testTTL},
		{"Mutex", testMutex},
		{"MutexWait", testMutexWait},
		{"Concurrent", testConcurrent},
		{"CanceledContext", testCanceledContext},
		{"EntryTags", testEntryTags},
		{"TagVersions", testTagVersions},
		{"TagPending", testTagPending},
		{"TagLease", testTagLease},
		{"TagLost", testTagLost},
		{"GetTagged", testGetTagged},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := h.New(t)
			if !h.KeepOpen {
				t.Cleanup(func() {
					if err := backend.Close(b); err != nil {
						t.Errorf("Close: %v", err)
					}
				})
			}
			tc.fn(t, h, b)
		})
	}
}

// entry returns an entry of the right kind for b holding payload.
func entry(b backend.Backend, payload string, created time.Time, version uint16) backend.Entry {
	e := backend.Entry{Meta: backend.Metadata{Created: created, Version: version}}
	if backend.SerializerOf(b) != nil {
		e.Data = []byte(payload)
	} else {
		e.Value = payload
	}
	return e
}

// payload returns what e holds, as a string.
func payload(t *testing.T, b backend.Backend, e backend.Entry) string {
	t.Helper()
	if backend.SerializerOf(b) != nil {
		if e.Value != nil {
			t.Errorf("bytes store returned a Value (%T) as well as Data", e.Value)
		}
		return string(e.Data)
	}
	s, ok := e.Value.(string)
	if !ok {
		t.Fatalf("object store returned Value of type %T, want the string that was set", e.Value)
	}
	return s
}

// key mangles k the way a region would before it reaches b.
func key(b backend.Backend, k string) string {
	if m := backend.KeyManglerOf(b); m != nil {
		return m(k)
	}
	return k
}

var ctxBg = context.Background()

func mustSet(t *testing.T, b backend.Backend, k string, e backend.Entry) {
	t.Helper()
	if err := b.Set(ctxBg, k, e); err != nil {
		t.Fatalf("Set(%q): %v", k, err)
	}
}

func mustGet(t *testing.T, b backend.Backend, k string) (backend.Entry, bool) {
	t.Helper()
	e, ok, err := b.Get(ctxBg, k)
	if err != nil {
		t.Fatalf("Get(%q): %v", k, err)
	}
	return e, ok
}

func checkEntry(t *testing.T, b backend.Backend, k string, want backend.Entry) {
	t.Helper()
	got, ok := mustGet(t, b, k)
	if !ok {
		t.Fatalf("Get(%q): missing, want the entry that was set", k)
	}
	if g, w := payload(t, b, got), payload(t, b, want); g != w {
		t.Errorf("Get(%q) payload = %q, want %q", k, g, w)
	}
	if !got.Meta.Created.Equal(want.Meta.Created) {
		t.Errorf("Get(%q) Created = %v, want %v", k, got.Meta.Created, want.Meta.Created)
	}
	if got.Meta.Version != want.Meta.Version {
		t.Errorf("Get(%q) Version = %d, want %d", k, got.Meta.Version, want.Meta.Version)
	}
}

var created = time.Date(2024, 2, 29, 13, 14, 15, 123456789, time.UTC)

func testGetMissing(t *testing.T, _ Harness, b backend.Backend) {
	if _, ok := mustGet(t, b, key(b, "missing")); ok {
		t.Fatal("Get of a key never set: found, want missing")
	}
}

func testSetGet(t *testing.T, _ Harness, b backend.Backend) {
	tests := []struct {
		name    string
		payload string
		created time.Time
		version uint16
	}{
		{"plain", "hello", created, 1},
		{"empty payload", "", created, 1},
		{"binary payload", "\x00\xff\x01|\n", created.Add(time.Nanosecond), 7},
		{"zero time", "z", time.Time{}, 1},
		{"max version", "v", created, 0xffff},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := key(b, "setget/"+tc.name)
			e := entry(b, tc.payload, tc.created, tc.version)
			mustSet(t, b, k, e)
			checkEntry(t, b, k, e)
		})
	}
}

func testOverwrite(t *testing.T, _ Harness, b backend.Backend) {
	k := key(b, "overwrite")
	mustSet(t, b, k, entry(b, "one", created, 1))
	second := entry(b, "two", created.Add(time.Second), 2)
	mustSet(t, b, k, second)
	checkEntry(t, b, k, second)
}

func testDelete(t *testing.T, _ Harness, b backend.Backend) {
	k := key(b, "delete")
	mustSet(t, b, k, entry(b, "x", created, 1))
	if err := b.Delete(ctxBg, k); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, ok := mustGet(t, b, k); ok {
		t.Fatal("Get after Delete: found, want missing")
	}
	if err := b.Delete(ctxBg, k); err != nil {
		t.Fatalf("Delete of a missing key: %v, want nil", err)
	}
}

func testKeys(t *testing.T, _ Harness, b backend.Backend) {
	keys := []string{
		"with space",
		"unicode/ключ/鍵/🔑",
		"colons:and|pipes",
		strings.Repeat("long", 300),
		"",
	}
	for i, raw := range keys {
		k := key(b, raw)
		e := entry(b, fmt.Sprint("value", i), created, 1)
		mustSet(t, b, k, e)
		checkEntry(t, b, k, e)
	}
	// Keys must not collide.
	for i, raw := range keys {
		got, ok := mustGet(t, b, key(b, raw))
		if !ok {
			t.Fatalf("key %q lost", raw)
		}
		if g, w := payload(t, b, got), fmt.Sprint("value", i); g != w {
			t.Errorf("key %q holds %q, want %q", raw, g, w)
		}
	}
}

func testLargeValue(t *testing.T, _ Harness, b backend.Backend) {
	k := key(b, "large")
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	e := entry(b, big, created, 1)
	mustSet(t, b, k, e)
	got, ok := mustGet(t, b, k)
	if !ok {
		t.Fatal("1 MiB value: missing after Set")
	}
	if p := payload(t, b, got); len(p) != len(big) || p != big {
		t.Fatalf("1 MiB value came back as %d bytes, different", len(p))
	}
}

func testMulti(t *testing.T, _ Harness, b backend.Backend) {
	keys := []string{key(b, "m1"), key(b, "m2"), key(b, "m3"), key(b, "m-missing")}
	entries := []backend.KeyedEntry{
		{Key: keys[0], Entry: entry(b, "one", created, 1)},
		{Key: keys[1], Entry: entry(b, "two", created, 1)},
		{Key: keys[2], Entry: entry(b, "three", created, 1)},
	}
	if err := backend.SetMulti(ctxBg, b, entries, 0); err != nil {
		t.Fatalf("SetMulti: %v", err)
	}
	got, err := backend.GetMulti(ctxBg, b, keys)
	if err != nil {
		t.Fatalf("GetMulti: %v", err)
	}
	if len(got) != len(keys) {
		t.Fatalf("GetMulti returned %d entries for %d keys", len(got), len(keys))
	}
	for i, ke := range entries {
		if got[i].IsZero() {
			t.Fatalf("GetMulti[%d] (%q): missing", i, ke.Key)
		}
		if g, w := payload(t, b, got[i]), payload(t, b, ke.Entry); g != w {
			t.Errorf("GetMulti[%d] = %q, want %q (order must follow keys)", i, g, w)
		}
	}
	if !got[3].IsZero() {
		t.Errorf("GetMulti of a missing key: %+v, want the zero Entry", got[3])
	}
	// Duplicated keys are answered per position.
	dup, err := backend.GetMulti(ctxBg, b, []string{keys[1], keys[1]})
	if err != nil || len(dup) != 2 || payload(t, b, dup[0]) != "two" || payload(t, b, dup[1]) != "two" {
		t.Errorf("GetMulti with a repeated key = %v, %v; want the entry twice", dup, err)
	}
	if err := backend.DeleteMulti(ctxBg, b, keys[:2]); err != nil {
		t.Fatalf("DeleteMulti: %v", err)
	}
	got, err = backend.GetMulti(ctxBg, b, keys)
	if err != nil {
		t.Fatalf("GetMulti: %v", err)
	}
	if !got[0].IsZero() || !got[1].IsZero() || got[2].IsZero() {
		t.Errorf("after DeleteMulti of the first two: present = %v %v %v, want false false true",
			!got[0].IsZero(), !got[1].IsZero(), !got[2].IsZero())
	}
}

func testMultiEmpty(t *testing.T, _ Harness, b backend.Backend) {
	if got, err := backend.GetMulti(ctxBg, b, nil); err != nil || len(got) != 0 {
		t.Errorf("GetMulti(nil) = %v, %v; want nothing, nil", got, err)
	}
	if err := backend.SetMulti(ctxBg, b, nil, 0); err != nil {
		t.Errorf("SetMulti(nil) = %v", err)
	}
	if err := backend.DeleteMulti(ctxBg, b, nil); err != nil {
		t.Errorf("DeleteMulti(nil) = %v", err)
	}
}

func testTTL(t *testing.T, h Harness, b backend.Backend) {
	k := key(b, "ttl")
	e := entry(b, "short-lived", created, 1)
	if err := backend.SetWithTTL(ctxBg, b, k, e, 30*time.Second); err != nil {
		t.Fatalf("SetWithTTL: %v", err)
	}
	checkEntry(t, b, k, e)
	if h.CheckTTL != nil {
		h.CheckTTL(t, b, k, 30*time.Second)
	}
	k2 := key(b, "ttl-multi")
	if err := backend.SetMulti(ctxBg, b, []backend.KeyedEntry{{Key: k2, Entry: e}}, 30*time.Second); err != nil {
		t.Fatalf("SetMulti with TTL: %v", err)
	}
	checkEntry(t, b, k2, e)
	if h.CheckTTL != nil {
		h.CheckTTL(t, b, k2, 30*time.Second)
	}
}

func second(t *testing.T, h Harness, b backend.Backend) backend.Backend {
	if h.SecondHandle != nil {
		return h.SecondHandle(t, b)
	}
	return b
}

func testMutex(t *testing.T, h Harness, b backend.Backend) {
	m1 := backend.MutexFor(b, key(b, "lock"))
	if m1 == nil {
		t.Skip("store offers no creation lock (not a Locker)")
	}
	m2 := backend.MutexFor(second(t, h, b), key(b, "lock"))
	if m2 == nil {
		t.Fatal("second handle offers no creation lock")
	}
	ok, err := m1.TryLock(ctxBg)
	if err != nil || !ok {
		t.Fatalf("TryLock of a free lock = %v, %v; want true, nil", ok, err)
	}
	if locked, err := backend.IsLocked(ctxBg, b, key(b, "lock")); err != nil {
		t.Fatalf("IsLocked: %v", err)
	} else if _, inspects := b.(backend.LockInspector); inspects && !locked {
		t.Error("IsLocked while held = false, want true")
	}
	if ok, err := m2.TryLock(ctxBg); err != nil || ok {
		t.Fatalf("second TryLock while held = %v, %v; want false, nil", ok, err)
	}
	ctx, cancel := context.WithTimeout(ctxBg, 50*time.Millisecond)
	err = m2.Lock(ctx)
	cancel()
	if err == nil {
		t.Fatal("Lock while another owner holds the lock returned nil before its context ended")
	}
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, backend.ErrLockTimeout) {
		t.Errorf("Lock past its deadline = %v, want context.DeadlineExceeded or ErrLockTimeout", err)
	}
	if err := m2.Unlock(ctxBg); !errors.Is(err, backend.ErrLockNotHeld) {
		t.Errorf("Unlock by a handle that does not hold the lock = %v, want ErrLockNotHeld", err)
	}
	if ok, _ := m2.TryLock(ctxBg); ok {
		t.Fatal("a non-owner's Unlock released the owner's lock")
	}
	if err := m1.Unlock(ctxBg); err != nil {
		t.Fatalf("Unlock by the owner: %v", err)
	}
	if ok, err := m2.TryLock(ctxBg); err != nil || !ok {
		t.Fatalf("TryLock after release = %v, %v; want true, nil", ok, err)
	}
	if err := m2.Unlock(ctxBg); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	if locked, err := backend.IsLocked(ctxBg, b, key(b, "lock")); err != nil || locked {
		t.Errorf("IsLocked after release = %v, %v; want false, nil", locked, err)
	}
}

func testMutexWait(t *testing.T, h Harness, b backend.Backend) {
	m1 := backend.MutexFor(b, key(b, "lock-wait"))
	if m1 == nil {
		t.Skip("store offers no creation lock (not a Locker)")
	}
	m2 := backend.MutexFor(second(t, h, b), key(b, "lock-wait"))
	if err := m1.Lock(ctxBg); err != nil {
		t.Fatalf("Lock of a free lock: %v", err)
	}
	acquired := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(ctxBg, 20*time.Second)
		defer cancel()
		acquired <- m2.Lock(ctx)
	}()
	select {
	case err := <-acquired:
		t.Fatalf("second Lock returned (%v) while the first owner held the lock", err)
	case <-time.After(100 * time.Millisecond):
	}
	if err := m1.Unlock(ctxBg); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	if err := <-acquired; err != nil {
		t.Fatalf("waiting Lock after release: %v", err)
	}
	if err := m2.Unlock(ctxBg); err != nil {
		t.Fatalf("Unlock by the second owner: %v", err)
	}
}

func testConcurrent(t *testing.T, _ Harness, b backend.Backend) {
	const goroutines, rounds = 8, 200
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				k := key(b, fmt.Sprint("conc/", i%10))
				want := fmt.Sprint("g", g, "-", i)
				if err := b.Set(ctxBg, k, entry(b, want, created, 1)); err != nil {
					errs <- fmt.Errorf("Set: %w", err)
					return
				}
				e, ok, err := b.Get(ctxBg, k)
				if err != nil {
					errs <- fmt.Errorf("Get: %w", err)
					return
				}
				if ok {
					var p []byte
					if e.Data != nil {
						p = e.Data
					} else if s, isStr := e.Value.(string); isStr {
						p = []byte(s)
					}
					if !bytes.HasPrefix(p, []byte("g")) {
						errs <- fmt.Errorf("Get returned a torn or foreign value %q", p)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testCanceledContext(t *testing.T, _ Harness, b backend.Backend) {
	// A store may answer from memory without looking at the context, but
	// it must not hang or panic on a canceled one.
	ctx, cancel := context.WithCancel(ctxBg)
	cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _, _ = b.Get(ctx, key(b, "canceled"))
		_ = b.Set(ctx, key(b, "canceled"), entry(b, "x", created, 1))
		_ = b.Delete(ctx, key(b, "canceled"))
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("operations with a canceled context did not return within 10s")
	}
}

func tagStore(t *testing.T, b backend.Backend) backend.TagStore {
	t.Helper()
	ts, err := backend.TagStoreOf(b)
	if err != nil {
		t.Skip("store keeps no tag versions (not a TagStore)")
	}
	return ts
}

func states(t *testing.T, ts backend.TagStore, tags ...string) []backend.TagState {
	t.Helper()
	st, err := ts.TagStates(ctxBg, tags)
	if err != nil {
		t.Fatalf("TagStates(%q): %v", tags, err)
	}
	if len(st) != len(tags) {
		t.Fatalf("TagStates(%q) returned %d states", tags, len(st))
	}
	return st
}

func testEntryTags(t *testing.T, _ Harness, b backend.Backend) {
	k := key(b, "tagged-entry")
	e := entry(b, "rows", created, 1)
	e.Meta.Tags = []backend.TagVersion{{Tag: "t:users", Version: 1 << 60}, {Tag: "t:orders", Version: 3}}
	mustSet(t, b, k, e)
	got, ok := mustGet(t, b, k)
	if !ok {
		t.Fatal("tagged entry missing")
	}
	if len(got.Meta.Tags) != 2 || got.Meta.Tags[0] != e.Meta.Tags[0] || got.Meta.Tags[1] != e.Meta.Tags[1] {
		t.Fatalf("entry tags came back as %v, want %v", got.Meta.Tags, e.Meta.Tags)
	}
}

func testTagVersions(t *testing.T, _ Harness, b backend.Backend) {
	ts := tagStore(t, b)
	tags := []string{key(b, "tag:a"), key(b, "tag:b")}
	first := states(t, ts, tags...)
	if again := states(t, ts, tags...); again[0] != first[0] || again[1] != first[1] {
		t.Fatalf("tag states changed without a bump: %v then %v", first, again)
	}
	if first[0].Pending || first[1].Pending {
		t.Fatalf("new tags are pending: %v", first)
	}
	if err := ts.BumpTags(ctxBg, tags[:1]); err != nil {
		t.Fatal(err)
	}
	after := states(t, ts, tags...)
	if after[0].Version == first[0].Version {
		t.Fatal("BumpTags did not change the version")
	}
	if after[1] != first[1] {
		t.Fatalf("bumping one tag changed another: %v then %v", first[1], after[1])
	}
	seen := map[uint64]bool{first[0].Version: true, after[0].Version: true}
	for range 5 {
		if err := ts.BumpTags(ctxBg, tags[:1]); err != nil {
			t.Fatal(err)
		}
		v := states(t, ts, tags[0])[0].Version
		if seen[v] {
			t.Fatalf("a bump gave back a version the tag had before (%d)", v)
		}
		seen[v] = true
	}
}

func testTagPending(t *testing.T, h Harness, b backend.Backend) {
	ts := tagStore(t, b)
	other := ts
	if h.SecondHandle != nil {
		other = tagStore(t, h.SecondHandle(t, b))
	}
	tag := key(b, "tag:pending")
	before := states(t, ts, tag)[0]
	if err := ts.MarkPending(ctxBg, []string{tag}, "writer-1", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := ts.MarkPending(ctxBg, []string{tag}, "writer-2", time.Minute); err != nil {
		t.Fatal(err)
	}
	if st := states(t, other, tag)[0]; !st.Pending || st.Version != before.Version {
		t.Fatalf("marked tag = %+v, want pending at version %d (seen from another handle)", st, before.Version)
	}
	// One writer rolls back: the other still holds the tag.
	if err := ts.ReleasePending(ctxBg, []string{tag}, "writer-1", false); err != nil {
		t.Fatal(err)
	}
	if st := states(t, other, tag)[0]; !st.Pending || st.Version != before.Version {
		t.Fatalf("after one of two writers rolled back: %+v, want still pending, version unchanged", st)
	}
	// The other commits: bumped and released together.
	if err := ts.ReleasePending(ctxBg, []string{tag}, "writer-2", true); err != nil {
		t.Fatal(err)
	}
	st := states(t, other, tag)[0]
	if st.Pending || st.Version == before.Version {
		t.Fatalf("after the commit: %+v, want released and bumped", st)
	}
	// Releasing marks one does not hold is harmless.
	if err := ts.ReleasePending(ctxBg, []string{tag}, "nobody", false); err != nil {
		t.Fatalf("ReleasePending of an owner with no marks: %v", err)
	}
}

func testTagLease(t *testing.T, h Harness, b backend.Backend) {
	if h.AdvanceClock == nil {
		t.Skip("no clock to move (Harness.AdvanceClock)")
	}
	ts := tagStore(t, b)
	tag := key(b, "tag:lease")
	if err := ts.MarkPending(ctxBg, []string{tag}, "crashed-writer", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	h.AdvanceClock(t, 29*time.Second)
	if !states(t, ts, tag)[0].Pending {
		t.Fatal("mark lapsed before its lease ended")
	}
	// The writer renews.
	if err := ts.MarkPending(ctxBg, []string{tag}, "crashed-writer", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	h.AdvanceClock(t, 29*time.Second)
	if !states(t, ts, tag)[0].Pending {
		t.Fatal("a renewed mark lapsed before its new lease ended")
	}
	h.AdvanceClock(t, 2*time.Second)
	if states(t, ts, tag)[0].Pending {
		t.Fatal("a dead writer's mark outlived its lease")
	}
}

func testTagLost(t *testing.T, h Harness, b backend.Backend) {
	if h.ForgetTag == nil {
		t.Skip("store cannot be made to lose a version (Harness.ForgetTag)")
	}
	ts := tagStore(t, b)
	tag := key(b, "tag:lost")
	seen := map[uint64]bool{}
	for range 3 {
		seen[states(t, ts, tag)[0].Version] = true
		if err := ts.BumpTags(ctxBg, []string{tag}); err != nil {
			t.Fatal(err)
		}
	}
	seen[states(t, ts, tag)[0].Version] = true
	for range 3 {
		h.ForgetTag(t, b, tag)
		v := states(t, ts, tag)[0].Version
		if seen[v] {
			t.Fatalf("a lost version came back as %d, which entries may hold", v)
		}
		seen[v] = true
		if err := ts.BumpTags(ctxBg, []string{tag}); err != nil {
			t.Fatal(err)
		}
		seen[states(t, ts, tag)[0].Version] = true
	}
	// A bump of a lost version also gives a version never seen.
	h.ForgetTag(t, b, tag)
	if err := ts.BumpTags(ctxBg, []string{tag}); err != nil {
		t.Fatal(err)
	}
	if v := states(t, ts, tag)[0].Version; seen[v] {
		t.Fatalf("bumping a lost version gave %d, which entries may hold", v)
	}
}

func testGetTagged(t *testing.T, _ Harness, b backend.Backend) {
	ts := tagStore(t, b)
	k, tags := key(b, "tagged"), []string{key(b, "tag:x"), key(b, "tag:y")}
	want := states(t, ts, tags...)
	e := entry(b, "v", created, 1)
	e.Meta.Tags = []backend.TagVersion{{Tag: tags[0], Version: want[0].Version}, {Tag: tags[1], Version: want[1].Version}}
	mustSet(t, b, k, e)
	got, ok, st, err := backend.GetTagged(ctxBg, b, k, tags)
	if err != nil || !ok {
		t.Fatalf("GetTagged = %v, %v", ok, err)
	}
	if !backend.TagsMatch(got.Meta.Tags, tags, st) {
		t.Fatalf("a fresh tagged entry does not match its tags: %v vs %v", got.Meta.Tags, st)
	}
	if err := ts.BumpTags(ctxBg, tags[1:]); err != nil {
		t.Fatal(err)
	}
	got, _, st, _ = backend.GetTagged(ctxBg, b, k, tags)
	if backend.TagsMatch(got.Meta.Tags, tags, st) {
		t.Fatal("an entry still matches after one of its tags was bumped")
	}
	if _, ok, st, err := backend.GetTagged(ctxBg, b, key(b, "no-such-key"), tags); err != nil || ok || len(st) != 2 {
		t.Fatalf("GetTagged of a missing key = %v, %v, %v; want the states and no entry", ok, st, err)
	}
}
