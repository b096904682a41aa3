package memcached_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/memcached"
	"github.com/dogpile-go/dogpile/clock"
	"github.com/dogpile-go/dogpile/internal/testenv"
)

func mustStates(t *testing.T, s *memcached.Store, tags ...string) []backend.TagState {
	t.Helper()
	st, err := s.TagStates(ctxBg, tags)
	if err != nil {
		t.Fatalf("TagStates(%q): %v", tags, err)
	}
	return st
}

// Tags reach the server under the key prefix, whatever they hold, and
// never under the key of another tag.
func TestTagKeys(t *testing.T) {
	srv := testenv.SharedMemcached(t)
	long := strings.Repeat("t", 300)
	tests := []struct {
		name          string
		opts          memcached.Options
		longestPrefix bool // a key prefix of the longest length New takes
	}{
		{"mangling on", memcached.Options{}, false},
		{"mangling off", memcached.Options{DisableKeyMangling: true}, false},
		{"longest prefix", memcached.Options{}, true},
	}
	tags := []string{"public.users", "", "with space", "ключ", "tab\t", long, "sha1:" + backend.SHA1KeyMangler(long)}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s *memcached.Store
			if tc.longestPrefix {
				o := tc.opts
				o.Servers = []string{srv.Addr()}
				o.KeyPrefix = fmt.Sprint(time.Now().UnixNano(), ":")
				o.KeyPrefix += strings.Repeat("p", 200-len(o.KeyPrefix))
				s = openStore(t, o)
			} else {
				s = newStore(t, srv.Addr(), tc.opts)
			}
			seen := map[string]string{}
			for _, tag := range tags {
				for _, k := range []string{s.TagVersionKey(tag), s.TagMarksKey(tag)} {
					if len(k) > 250 || strings.ContainsAny(k, " \t\r\n") {
						t.Errorf("tag %.20q has an item key memcached cannot take: %q (%d bytes)", tag, k, len(k))
					}
					if other, dup := seen[k]; dup {
						t.Errorf("tags %.20q and %.20q share the item key %q", tag, other, k)
					}
					seen[k] = tag
				}
			}
			if got := s.TagVersionKey("public.users"); !strings.HasSuffix(got, "public.users") {
				t.Errorf("a plain tag's version item is %q, want the tag readable in it", got)
			}
			// Each tag keeps its own version and marks.
			st := mustStates(t, s, tags...)
			if err := s.MarkPending(ctxBg, tags[1:2], "w", time.Minute); err != nil {
				t.Fatal(err)
			}
			if err := s.BumpTags(ctxBg, tags[2:3]); err != nil {
				t.Fatal(err)
			}
			after := mustStates(t, s, tags...)
			for i, tag := range tags {
				wantPending, bumped := i == 1, i == 2
				if after[i].Pending != wantPending || (after[i].Version != st[i].Version) != bumped {
					t.Errorf("tag %.20q: %+v then %+v; want pending %v, bumped %v", tag, st[i], after[i], wantPending, bumped)
				}
			}
		})
	}
}

// The marks and the version of a tag live on one server, so that one
// multi-get reads them in order.
func TestTagItemsShareServer(t *testing.T) {
	servers := []string{"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"}
	s := newStore(t, "127.0.0.1:1", memcached.Options{})
	prefix := strings.TrimSuffix(s.ServerKey("x"), "x")
	used := map[string]bool{}
	for i := range 200 {
		tag := fmt.Sprint("table_", i)
		v, err := memcached.PickServer(servers, prefix, s.TagVersionKey(tag))
		if err != nil {
			t.Fatal(err)
		}
		p, err := memcached.PickServer(servers, prefix, s.TagMarksKey(tag))
		if err != nil {
			t.Fatal(err)
		}
		if v.String() != p.String() {
			t.Fatalf("tag %q: version on %v, marks on %v", tag, v, p)
		}
		used[v.String()] = true
	}
	if len(used) != len(servers) {
		t.Errorf("200 tags went to %d of %d servers", len(used), len(servers))
	}
}

// Clients that find a version missing at the same moment agree on the one
// that starts it: add lets one in, and the others read its version.
func TestTagStartRace(t *testing.T) {
	srv := testenv.SharedMemcached(t)
	first := newStore(t, srv.Addr(), memcached.Options{})
	prefix := strings.TrimSuffix(first.ServerKey("x"), "x")
	const clients = 6
	stores := []*memcached.Store{first}
	for range clients - 1 {
		stores = append(stores, openStore(t, memcached.Options{Servers: []string{srv.Addr()}, KeyPrefix: prefix}))
	}
	for round := range 20 {
		tag := fmt.Sprint("race-", round)
		got := make([]uint64, clients)
		errs := make([]error, clients)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, s := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				st, err := s.TagStates(ctxBg, []string{tag})
				if err == nil {
					got[i] = st[0].Version
				}
				errs[i] = err
			}()
		}
		close(start)
		wg.Wait()
		for i := range stores {
			if errs[i] != nil {
				t.Fatalf("client %d: %v", i, errs[i])
			}
			if got[i] != got[0] {
				t.Fatalf("round %d: clients started %q at different versions: %v", round, tag, got)
			}
		}
	}
}

// A version lost on the server restarts above every version the tag had,
// as seen by a client that never read it: the restart comes from the
// clock, which bumps cannot outrun.
func TestTagRestartFromClock(t *testing.T) {
	srv := testenv.SharedMemcached(t)
	a := newStore(t, srv.Addr(), memcached.Options{})
	prefix := strings.TrimSuffix(a.ServerKey("x"), "x")
	before := mustStates(t, a, "t")[0].Version
	for range 50 {
		if err := a.BumpTags(ctxBg, []string{"t"}); err != nil {
			t.Fatal(err)
		}
	}
	last := mustStates(t, a, "t")[0].Version
	if last != before+50 {
		t.Fatalf("50 bumps took the version from %d to %d", before, last)
	}
	if err := a.ForgetTag("t"); err != nil {
		t.Fatal(err)
	}
	b := openStore(t, memcached.Options{Servers: []string{srv.Addr()}, KeyPrefix: prefix})
	if v := mustStates(t, b, "t")[0].Version; v <= last {
		t.Fatalf("a new client restarted the lost version at %d, not above the last one, %d", v, last)
	}
}

// The marks item lives a little past its longest lease, drops lapsed
// owners when it is written, and goes when its last owner leaves.
func TestTagMarksItem(t *testing.T) {
	srv := testenv.SharedMemcached(t)
	clk := clock.NewManual(time.Now())
	s := newStore(t, srv.Addr(), memcached.Options{Clock: clk})
	key := s.TagMarksKey("t")
	if err := s.MarkPending(ctxBg, []string{"t"}, "short", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkPending(ctxBg, []string{"t"}, "long", time.Minute); err != nil {
		t.Fatal(err)
	}
	if ttl, ok := serverTTL(t, srv.Addr(), key); !ok || ttl <= time.Minute-2*time.Second || ttl > time.Minute+3*time.Second {
		t.Errorf("marks item TTL = %v (present %v), want a little over the longest lease, 1m", ttl, ok)
	}
	// The short lease lapses; the next write drops it.
	clk.Advance(11 * time.Second)
	if err := s.MarkPending(ctxBg, []string{"t"}, "long", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleasePending(ctxBg, []string{"t"}, "long", false); err != nil {
		t.Fatal(err)
	}
	if ttl, ok := serverTTL(t, srv.Addr(), key); ok {
		t.Errorf("marks item still there (TTL %v) after its last live owner left", ttl)
	}
	if mustStates(t, s, "t")[0].Pending {
		t.Error("tag pending after every owner left or lapsed")
	}
}

// Items that something else wrote under a tag's keys are reported, not
// read as versions or marks; the next edit of the marks replaces them.
func TestTagForeignItems(t *testing.T) {
	srv := testenv.SharedMemcached(t)
	s := newStore(t, srv.Addr(), memcached.Options{})
	conn := dialRaw(t, srv.Addr())
	conn.cmd(t, "set "+s.TagVersionKey("v")+" 0 0 3\r\nabc\r\n", "STORED")
	if _, err := s.TagStates(ctxBg, []string{"v"}); !errors.Is(err, memcached.ErrBadTagItem) {
		t.Errorf("TagStates over a version that is not a number = %v, want ErrBadTagItem", err)
	}
	if err := s.BumpTags(ctxBg, []string{"v"}); err == nil {
		t.Error("BumpTags of a version that is not a number succeeded")
	}
	conn.cmd(t, "set "+s.TagMarksKey("m")+" 0 0 5\r\nhello\r\n", "STORED")
	if _, err := s.TagStates(ctxBg, []string{"m"}); !errors.Is(err, memcached.ErrBadTagItem) {
		t.Errorf("TagStates over marks that do not decode = %v, want ErrBadTagItem", err)
	}
	if err := s.ReleasePending(ctxBg, []string{"m"}, "nobody", false); err != nil {
		t.Fatal(err)
	}
	if st := mustStates(t, s, "m")[0]; st.Pending {
		t.Errorf("after a release replaced foreign marks: %+v, want not pending", st)
	}
}

// Goroutines on two clients bump, mark and release the same tags at once,
// while one of them now and then makes the server lose a version: each
// sees the versions of its tags only grow, each one's mark holds while it
// is there, and at the end nothing is pending and every version is above
// all those seen.
func TestTagsConcurrent(t *testing.T) {
	srv := testenv.SharedMemcached(t)
	first := newStore(t, srv.Addr(), memcached.Options{})
	prefix := strings.TrimSuffix(first.ServerKey("x"), "x")
	second := openStore(t, memcached.Options{Servers: []string{srv.Addr()}, KeyPrefix: prefix})
	tags := []string{"users", "orders", "items"}
	const perClient, rounds = 3, 40
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		maxSeen = make([]uint64, len(tags))
	)
	errs := make(chan error, 2*perClient)
	for c, s := range []*memcached.Store{first, second} {
		for g := range perClient {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- tagWorker(s, fmt.Sprintf("client%d-g%d", c, g), tags, rounds, c == 0 && g == 0, func(i int, v uint64) {
					mu.Lock()
					maxSeen[i] = max(maxSeen[i], v)
					mu.Unlock()
				})
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	for i, st := range mustStates(t, second, tags...) {
		if st.Pending {
			t.Errorf("tag %q pending after every writer released it", tags[i])
		}
		if st.Version <= maxSeen[i] {
			t.Errorf("tag %q ends at version %d, not above the %d seen after a bump", tags[i], st.Version, maxSeen[i])
		}
	}
}

// tagWorker runs rounds of: mark the tags, check they read as pending,
// bump one and check its version grew, release with a bump. With forget,
// it also deletes a version now and then. It reports the versions it read
// to saw.
func tagWorker(s *memcached.Store, owner string, tags []string, rounds int, forget bool, saw func(i int, v uint64)) error {
	last := make([]uint64, len(tags))
	for r := range rounds {
		if err := s.MarkPending(ctxBg, tags, owner, time.Minute); err != nil {
			return fmt.Errorf("%s: MarkPending: %w", owner, err)
		}
		st, err := s.TagStates(ctxBg, tags)
		if err != nil {
			return fmt.Errorf("%s: TagStates: %w", owner, err)
		}
		for i, x := range st {
			if !x.Pending {
				return fmt.Errorf("%s round %d: tag %q not pending while marked by this owner", owner, r, tags[i])
			}
		}
		i := r % len(tags)
		if forget && r%5 == 4 {
			if err := s.ForgetTag(tags[i]); err != nil {
				return err
			}
		}
		if err := s.BumpTags(ctxBg, tags[i:i+1]); err != nil {
			return fmt.Errorf("%s: BumpTags: %w", owner, err)
		}
		if st, err = s.TagStates(ctxBg, tags); err != nil {
			return fmt.Errorf("%s: TagStates: %w", owner, err)
		}
		if st[i].Version <= last[i] {
			return fmt.Errorf("%s round %d: tag %q read %d after a bump, not above the %d read before", owner, r, tags[i], st[i].Version, last[i])
		}
		last[i] = st[i].Version
		saw(i, st[i].Version)
		if err := s.ReleasePending(ctxBg, tags, owner, true); err != nil {
			return fmt.Errorf("%s: ReleasePending: %w", owner, err)
		}
	}
	return nil
}
