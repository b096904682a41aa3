package file_test

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/file"
	"github.com/dogpile-go/dogpile/clock"
)

func mustStates(t *testing.T, s *file.Store, tags ...string) []backend.TagState {
	t.Helper()
	st, err := s.TagStates(ctxBg, tags)
	if err != nil {
		t.Fatalf("TagStates(%.40q): %v", tags, err)
	}
	return st
}

// Any tag fits, the empty one and those longer than bbolt's keys included,
// and each keeps its own state.
func TestTagKeys(t *testing.T) {
	s := newStore(t, file.Options{NoSync: true})
	huge := strings.Repeat("t", 40000) // over bbolt's 32 KiB key limit
	tags := []string{"public.users", "", "with space", huge, huge + "x"}
	before := mustStates(t, s, tags...)
	for i := range tags {
		for j := range i {
			if before[i].Version == before[j].Version {
				t.Errorf("tags %d and %d started at the same version %d", j, i, before[i].Version)
			}
		}
	}
	if err := s.BumpTags(ctxBg, tags[3:4]); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkPending(ctxBg, tags[4:5], "w", time.Minute); err != nil {
		t.Fatal(err)
	}
	after := mustStates(t, s, tags...)
	for i := range tags {
		bumped, pending := i == 3, i == 4
		if (after[i].Version != before[i].Version) != bumped || after[i].Pending != pending {
			t.Errorf("tag %d: %+v then %+v; want bumped %v, pending %v", i, before[i], after[i], bumped, pending)
		}
	}
}

// Versions come from one sequence that only grows, kept in the file: a
// lost version restarts above every version given out, whichever handle
// gave it.
func TestTagVersionSequence(t *testing.T) {
	a := newStore(t, file.Options{NoSync: true})
	b := newStore(t, file.Options{Filename: a.Path(), NoSync: true})
	var last uint64
	for i := range 6 {
		s := []*file.Store{a, b}[i%2]
		if err := s.BumpTags(ctxBg, []string{"t", fmt.Sprint("other", i)}); err != nil {
			t.Fatal(err)
		}
		v := mustStates(t, s, "t")[0].Version
		if v <= last {
			t.Fatalf("bump %d gave %d, not above %d", i, v, last)
		}
		last = v
	}
	if err := a.ForgetTag(ctxBg, "t"); err != nil {
		t.Fatal(err)
	}
	c := newStore(t, file.Options{Filename: a.Path(), NoSync: true})
	if v := mustStates(t, c, "t")[0].Version; v <= last {
		t.Fatalf("a lost version restarted at %d, not above %d", v, last)
	}
}

// A tag's marks record drops lapsed owners when it is written, and goes
// when its last owner leaves.
func TestTagMarksRecord(t *testing.T) {
	clk := clock.NewManual(time.Now())
	s := newStore(t, file.Options{Clock: clk, NoSync: true})
	if err := s.MarkPending(ctxBg, []string{"t"}, "short", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkPending(ctxBg, []string{"t"}, "long", time.Minute); err != nil {
		t.Fatal(err)
	}
	clk.Advance(11 * time.Second)
	if !mustStates(t, s, "t")[0].Pending {
		t.Fatal("tag not pending while one owner's lease runs")
	}
	if err := s.ReleasePending(ctxBg, []string{"t"}, "long", false); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.HasTagMarks(ctxBg, "t"); ok || err != nil {
		t.Errorf("marks record still there (%v) after its last live owner left", err)
	}
}

// Records that something else wrote under a tag are reported, not read as
// versions or marks; the next write of the tag replaces them.
func TestTagForeignRecords(t *testing.T) {
	s := newStore(t, file.Options{NoSync: true})
	if err := s.PutRawTag(ctxBg, 'v', "v", []byte("abc")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TagStates(ctxBg, []string{"v"}); !errors.Is(err, file.ErrBadTagRecord) {
		t.Errorf("TagStates over a version that is not 8 bytes = %v, want ErrBadTagRecord", err)
	}
	if err := s.BumpTags(ctxBg, []string{"v"}); err != nil {
		t.Fatal(err)
	}
	mustStates(t, s, "v")
	if err := s.PutRawTag(ctxBg, 'p', "m", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TagStates(ctxBg, []string{"m"}); !errors.Is(err, file.ErrBadTagRecord) {
		t.Errorf("TagStates over marks that do not decode = %v, want ErrBadTagRecord", err)
	}
	if err := s.ReleasePending(ctxBg, []string{"m"}, "nobody", false); err != nil {
		t.Fatal(err)
	}
	if st := mustStates(t, s, "m")[0]; st.Pending {
		t.Errorf("after a release replaced foreign marks: %+v, want not pending", st)
	}
}

// Two other processes and two handles in this one, each with goroutines,
// bump, mark and release the same tags at once, while one worker now and
// then loses a version: each sees the versions of its tags only grow, each
// one's mark holds while it is there, and at the end nothing is pending
// and every version is above all those seen.
func TestTagsConcurrent(t *testing.T) {
	const procs, goroutines, rounds = 2, 2, 15
	a := newStore(t, file.Options{NoSync: true})
	b := newStore(t, file.Options{Filename: a.Path(), NoSync: true})
	hs := make([]*helper, procs)
	for i := range hs {
		hs[i] = startHelper(t, "tags", envPath+"="+a.Path(),
			fmt.Sprint(envGoroutines, "=", goroutines), fmt.Sprint(envRounds, "=", rounds))
	}
	for _, h := range hs {
		h.expect(t, "ready")
	}
	for _, h := range hs {
		h.send(t, "go")
	}
	maxSeen := make([]uint64, len(workerTags))
	var mu sync.Mutex
	saw := func(i int, v uint64) {
		mu.Lock()
		maxSeen[i] = max(maxSeen[i], v)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*goroutines)
	for c, s := range []*file.Store{a, b} {
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- tagWorker(s, fmt.Sprintf("parent-h%d-g%d", c, g), rounds, c == 0 && g == 0, saw)
			}()
		}
	}
	for _, h := range hs {
		for {
			line, ok := h.line(t)
			if !ok {
				t.Fatalf("helper %d ended before saying done", h.cmd.Process.Pid)
			}
			if line == "done" {
				break
			}
			f := strings.Fields(line)
			if len(f) == 3 && f[0] == "max" {
				i, err1 := strconv.Atoi(f[1])
				v, err2 := strconv.ParseUint(f[2], 10, 64)
				if err1 != nil || err2 != nil || i < 0 || i >= len(workerTags) {
					t.Fatalf("helper %d said %q", h.cmd.Process.Pid, line)
				}
				saw(i, v)
				continue
			}
			t.Errorf("helper %d: %s", h.cmd.Process.Pid, line)
		}
		if err := h.cmd.Wait(); err != nil {
			t.Errorf("helper %d: %v", h.cmd.Process.Pid, err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	for i, st := range mustStates(t, b, workerTags...) {
		if st.Pending {
			t.Errorf("tag %q pending after every writer released it", workerTags[i])
		}
		if st.Version <= maxSeen[i] {
			t.Errorf("tag %q ends at version %d, not above the %d seen after a bump", workerTags[i], st.Version, maxSeen[i])
		}
	}
}

// workerTags are the tags tagWorker works on.
var workerTags = []string{"users", "orders", "items"}

// tagWorker runs rounds of: mark the tags, check they read as pending,
// bump one and check its version grew, release with a bump. With forget,
// it also deletes a version now and then. It reports the versions it read
// after its bumps to saw.
func tagWorker(s *file.Store, owner string, rounds int, forget bool, saw func(i int, v uint64)) error {
	tags := workerTags
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
			if err := s.ForgetTag(ctxBg, tags[i]); err != nil {
				return err
			}
		}
		if err := s.BumpTags(ctxBg, tags[i:i+1]); err != nil {
			return fmt.Errorf("%s: BumpTags: %w", owner, err)
		}
		_, _, st, err = s.GetTagged(ctxBg, "k", tags)
		if err != nil {
			return fmt.Errorf("%s: GetTagged: %w", owner, err)
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
