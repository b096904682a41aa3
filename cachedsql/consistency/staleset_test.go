package consistency_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/cachedsql"
)

// Deterministic interleavings of one reader's creation and one writer's
// commit, each run many times. The reader is stopped between its database
// read and its cache fill by the hook driver (after the last row of its
// query, before the region stores the result); the writer is stopped
// between its database commit and its bump by a proxy around the Redis
// store. Key 1 of kv is read and written; iteration i writes the value i.

const iterations = 50

// waitFor bounds every wait on the other side of an interleaving.
const waitFor = 10 * time.Second

type readResult struct {
	v   int64
	err error
}

// read reads key 1 through h's cache.
func read(ctx context.Context, h *handle) (int64, error) {
	var v int64
	err := h.DB.GetContext(ctx, &v, readOne, 1)
	return v, err
}

func mustRead(t *testing.T, h *handle) int64 {
	t.Helper()
	v, err := read(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// startRead starts a read of key 1 on h in the background.
func startRead(ctx context.Context, h *handle) <-chan readResult {
	done := make(chan readResult, 1)
	go func() {
		v, err := read(ctx, h)
		done <- readResult{v, err}
	}()
	return done
}

// startPausedRead starts a read of key 1 on h that misses (the cache of kv
// is invalidated first) and stops once its query has returned every row,
// before the result is stored. It returns when the read is stopped there.
func startPausedRead(t *testing.T, h *handle) (*pausePoint, <-chan readResult) {
	t.Helper()
	ctx := context.Background()
	if err := h.DB.InvalidateTables(ctx, "kv"); err != nil {
		t.Fatal(err)
	}
	p := newPausePoint()
	done := startRead(withTrace(ctx, &queryTrace{pause: p}), h)
	select {
	case <-p.reached:
	case r := <-done:
		t.Fatalf("the read did not run its own query: it returned %d, %v", r.v, r.err)
	case <-time.After(waitFor):
		t.Fatal("the read never reached the database")
	}
	return p, done
}

func await(t *testing.T, what string, done <-chan readResult) int64 {
	t.Helper()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("%s: %v", what, r.err)
		}
		return r.v
	case <-time.After(waitFor):
		t.Fatalf("%s: did not return within %v", what, waitFor)
	}
	return 0
}

// commitWrite sets key 1 to v in a transaction and commits it.
func commitWrite(t *testing.T, h *handle, v int64) {
	t.Helper()
	tx := beginWrite(t, h, v)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// beginWrite opens a transaction that sets key 1 to v: from its UPDATE on,
// kv is pending.
func beginWrite(t *testing.T, h *handle, v int64) *cachedsql.Tx {
	t.Helper()
	tx, err := h.DB.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(write, v, 1); err != nil {
		t.Fatal(err)
	}
	return tx
}

// waitLockWaits waits until h's region has counted more lock waits than
// before: a reader has joined a creation in progress (in this process, or
// through the Redis lock).
func waitLockWaits(t *testing.T, h *handle, before int64) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for h.DB.Region().Stats().LockWaits <= before {
		if time.Now().After(deadline) {
			t.Fatal("the second reader never waited for the first one's creation")
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// A reader that read the old rows, stopped before storing them while a
// writer's commit completed, stores them with the tag versions it read
// before its query: the entry never validates, and the next read sees the
// write. The interleaving, on one cachedsql.DB:
//
//	reader: tag versions (current) → query (old rows) → [stopped]
//	writer: mark pending → UPDATE → COMMIT → bump, release → Commit returns
//	reader: [released] store (old versions) → returns
//	reader 2: begins → must see the write
func TestStaleFillRejected(t *testing.T) {
	s := newSite(t)
	h := s.mustOpen(t)
	for i := int64(1); i <= iterations; i++ {
		p, first := startPausedRead(t, h)
		commitWrite(t, h, i)
		close(p.release)
		if v := await(t, "the stopped reader", first); v != i-1 {
			t.Logf("iteration %d: the stopped reader got %d (it began before the commit: either is allowed)", i, v)
		}
		if v := mustRead(t, h); v != i {
			t.Fatalf("iteration %d: a read that began after Commit returned got %d, want %d: the stale fill was served", i, v, i)
		}
	}
}

// A reader whose creation ran while the writer's transaction was open
// (its tags pending) does not store what it read, and the next read after
// the commit sees the write:
//
//	writer: mark pending → UPDATE
//	reader: tag states (pending: bypass) → query (old rows) → [stopped]
//	writer: COMMIT → bump, release → Commit returns
//	reader: [released] returns without storing
//	reader 2: begins → must see the write
func TestFillWhilePendingSkipped(t *testing.T) {
	s := newSite(t)
	h := s.mustOpen(t)
	for i := int64(1); i <= iterations; i++ {
		tx := beginWrite(t, h, i)
		p, first := startPausedRead(t, h)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		close(p.release)
		if v := await(t, "the stopped reader", first); v != i-1 {
			t.Fatalf("iteration %d: the stopped reader, whose query ran before the commit, got %d, want %d", i, v, i-1)
		}
		if v := mustRead(t, h); v != i {
			t.Fatalf("iteration %d: a read that began after Commit returned got %d, want %d", i, v, i)
		}
	}
}

// A read that begins after Commit returned must see the write even while a
// creation of the same key that queried before the commit is still in
// progress: it must not take that creation's result.
//
//	reader 1: [tag states] → query (old rows) → [stopped]
//	writer:   … COMMIT → bump, release → Commit returns
//	reader 2: begins → no valid entry → finds reader 1's creation in progress
//	reader 1: [released] → returns the old rows
//	reader 2: → must return the write's value, not reader 1's old rows
//
// Reader 2 on the same cachedsql.DB finds the creation in the region's
// in-process single flight; on another DB (another process's, sharing
// Redis) it finds the key's Redis creation lock held.
func TestReadAfterCommitDoesNotTakeAnEarlierCreation(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pending bool // reader 1's creation runs while the write's transaction is open
		otherDB bool // reader 2 on another cachedsql.DB (another process's)
	}{
		{name: "same DB"},
		{name: "same DB/creation while pending", pending: true},
		{name: "other DB", otherDB: true},
		{name: "other DB/creation while pending", pending: true, otherDB: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSite(t)
			h1 := s.mustOpen(t)
			h2 := h1
			if tc.otherDB {
				h2 = s.mustOpen(t)
			}
			var fails []string
			for i := int64(1); i <= iterations; i++ {
				var tx *cachedsql.Tx
				if tc.pending {
					tx = beginWrite(t, h1, i)
				}
				p, first := startPausedRead(t, h1)
				if tc.pending {
					if err := tx.Commit(); err != nil {
						t.Fatal(err)
					}
				} else {
					commitWrite(t, h1, i)
				}
				// Commit has returned: every read from here on must see i.
				waits := h2.DB.Region().Stats().LockWaits
				second := startRead(context.Background(), h2)
				waitLockWaits(t, h2, waits)
				close(p.release)
				got1 := await(t, "reader 1", first)
				got2 := await(t, "reader 2", second)
				if got2 != i {
					fails = append(fails, fmt.Sprintf("iteration %d: reader 2 began after Commit returned and got %d, want %d (reader 1, whose query ran before the commit, got %d)", i, got2, i, got1))
				}
				if v := mustRead(t, h2); v != i {
					fails = append(fails, fmt.Sprintf("iteration %d: a third read got %d, want %d", i, v, i))
				}
			}
			if len(fails) > 0 {
				t.Errorf("stale reads in %d of %d iterations:\n%s", len(fails), iterations, fails[0])
				for _, f := range fails[1:min(len(fails), 5)] {
					t.Error(f)
				}
			}
		})
	}
}

// stallingStore is a proxy of the Redis store whose next ReleasePending
// that bumps (a committed write set's) stops at an armed pause point
// before it reaches Redis: the writer is then between its database commit
// and its bump.
type stallingStore struct {
	backend.ProxyBackend
	armed atomic.Pointer[pausePoint]
}

func (s *stallingStore) ReleasePending(ctx context.Context, tags []string, owner string, bump bool) error {
	if bump {
		if p := s.armed.Swap(nil); p != nil {
			p.hold()
		}
	}
	return s.ProxyBackend.ReleasePending(ctx, tags, owner, bump)
}

// A writer stopped between its database commit and its bump: a read in
// that window, in the writer's process or another, may see the old value
// or the new one (Commit has not returned), never anything else; once
// Commit returns, every read sees the new value.
func TestWriterStalledBeforeBump(t *testing.T) {
	s := newSite(t)
	stall := &stallingStore{}
	writerDB := s.mustOpen(t, stall)
	otherDB := s.mustOpen(t)
	handles := []*handle{writerDB, otherDB}
	seen := map[string]int{}
	for i := int64(1); i <= iterations; i++ {
		// Both caches hold the old value.
		for _, h := range handles {
			if v := mustRead(t, h); v != i-1 {
				t.Fatalf("iteration %d: before the write, a read got %d, want %d", i, v, i-1)
			}
		}
		p := newPausePoint()
		stall.armed.Store(p)
		committed := make(chan error, 1)
		go func() {
			tx, err := writerDB.DB.Beginx()
			if err == nil {
				if _, err = tx.Exec(write, i, 1); err == nil {
					err = tx.Commit()
				} else {
					_ = tx.Rollback()
				}
			}
			committed <- err
		}()
		select {
		case <-p.reached:
		case err := <-committed:
			t.Fatalf("iteration %d: the commit returned (%v) without reaching its bump", i, err)
		case <-time.After(waitFor):
			t.Fatal("the writer never reached its bump")
		}
		// The database has committed; the bump waits.
		for j, h := range handles {
			v := mustRead(t, h)
			switch v {
			case i - 1:
				seen[fmt.Sprintf("db %d: old", j)]++
			case i:
				seen[fmt.Sprintf("db %d: new", j)]++
			default:
				t.Fatalf("iteration %d: a read while the bump waits got %d, want %d or %d", i, v, i-1, i)
			}
		}
		close(p.release)
		if err := <-committed; err != nil {
			t.Fatal(err)
		}
		for j, h := range handles {
			if v := mustRead(t, h); v != i {
				t.Fatalf("iteration %d: db %d: a read after Commit returned got %d, want %d", i, j, v, i)
			}
		}
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		t.Logf("reads while the bump waited: %s: %d", k, seen[k])
	}
}

// A read must not return a value older than one a read that returned
// before it began had already returned: PostgreSQL alone never does that
// (once one statement sees a commit, every statement that starts later
// does), and neither may the cache. Here the reads are concurrent with the
// writer's Commit, which has committed in the database but not yet bumped:
//
//	writer:   mark pending → UPDATE
//	reader 1: tag states (pending: bypass) → query (old rows) → [stopped]
//	writer:   COMMIT → [stopped before its bump; Commit has not returned]
//	reader 0: reads the row through another statement (pending: bypass)
//	          → the database → the new value → returns
//	reader 2: begins (after reader 0 returned; same tag versions as
//	          reader 1's creation, since nothing was bumped) → pending →
//	          finds reader 1's creation in progress → waits
//	reader 1: [released] → the old rows
//	reader 2: → must return the new value, not reader 1's old rows
func TestNoReadOlderThanAnEarlierRead(t *testing.T) {
	s := newSite(t)
	stall := &stallingStore{}
	h := s.mustOpen(t, stall)
	type row struct {
		K int   `db:"k"`
		V int64 `db:"v"`
	}
	var fails []string
	for i := int64(1); i <= iterations; i++ {
		tx := beginWrite(t, h, i)
		p, first := startPausedRead(t, h)
		bump := newPausePoint()
		stall.armed.Store(bump)
		committed := make(chan error, 1)
		go func() { committed <- tx.Commit() }()
		select {
		case <-bump.reached:
		case <-time.After(waitFor):
			t.Fatal("the writer never reached its bump")
		}
		var rows []row
		if err := h.DB.Select(&rows, readAll); err != nil {
			t.Fatal(err)
		}
		if rows[0].V != i {
			t.Fatalf("iteration %d: with the database committed, reader 0 got %d, want %d", i, rows[0].V, i)
		}
		waits := h.DB.Region().Stats().LockWaits
		second := startRead(context.Background(), h)
		waitLockWaits(t, h, waits)
		close(p.release)
		got1 := await(t, "reader 1", first)
		got2 := await(t, "reader 2", second)
		close(bump.release)
		if err := <-committed; err != nil {
			t.Fatal(err)
		}
		if got2 != i {
			fails = append(fails, fmt.Sprintf("iteration %d: reader 2 began after reader 0 had returned %d, and got %d (reader 1's, whose query ran before the commit: it got %d)", i, i, got2, got1))
		}
	}
	if len(fails) > 0 {
		t.Errorf("reads older than an earlier read in %d of %d iterations:\n%s", len(fails), iterations, fails[0])
		for _, f := range fails[1:min(len(fails), 5)] {
			t.Error(f)
		}
	}
}
