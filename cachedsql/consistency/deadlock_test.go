package consistency_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/invalidation"
)

// markStallingStore is a proxy of a tag store whose MarkPending of one tag
// stops at an armed pause point before reaching the store: the write set
// that marks it is then inside Touch, holding its own lock.
type markStallingStore struct {
	backend.ProxyBackend
	tag   string
	armed atomic.Pointer[pausePoint]
}

func (s *markStallingStore) MarkPending(ctx context.Context, tags []string, owner string, lease time.Duration) error {
	if slices.Contains(tags, s.tag) {
		if p := s.armed.Swap(nil); p != nil {
			p.hold()
		}
	}
	return s.ProxyBackend.MarkPending(ctx, tags, owner, lease)
}

// blocks reports whether f is still running after d: it waits for a lock
// someone else holds. (If it is, its goroutine waits on.)
func blocks(f func(), d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		f()
		close(done)
	}()
	select {
	case <-done:
		return false
	case <-time.After(d):
		return true
	}
}

// The lease renewal of the tag protocol and a transaction's commit take
// the same two locks in opposite orders: Tags.renew holds Tags.mu and takes
// each open WriteSet.mu in turn; WriteSet.finish (Commit, Rollback) and
// WriteSet.Touch hold their WriteSet.mu and then take Tags.mu. When the
// renewal reaches a write set whose Commit holds that write set's lock and
// waits for Tags.mu, neither moves again, and with them every later
// Touch, Commit and tagged read of the process (all take Tags.mu): every
// query of the cachedsql.DB hangs. The history test met it by chance (a
// renewal runs every Lease/3, 10 s by default, while writers commit).
//
// Forced here, on the memory store with a 20 ms renewal:
//
//	victims 1…7: Touch (done: in Tags.open, their locks free)
//	A:           Touch → takes A.mu → MarkPending [stopped, holding A.mu]
//	renew:       takes Tags.mu → walks Tags.open → blocks on A.mu
//	victims:     Commit → take their own mu → block on Tags.mu
//	A:           [released] MarkPending returns → Touch releases A.mu
//	renew:       takes A.mu, goes on → reaches a victim → blocks on its mu
//	             (held by that victim's Commit, which waits for Tags.mu)
//
// Which write sets renew visits after A depends on map order, so one try
// deadlocks unless A comes last of eight; the test tries up to ten times.
func TestRenewalDoesNotDeadlockCommits(t *testing.T) {
	const victims, tries = 7, 10
	for try := 1; try <= tries; try++ {
		stuck, err := renewalAgainstCommits(victims)
		if err != nil {
			t.Fatal(err)
		}
		if stuck != "" {
			t.Fatalf("try %d: %s", try, stuck)
		}
	}
	t.Logf("no deadlock in %d tries", tries)
}

// renewalAgainstCommits runs the interleaving once. It returns a
// description of the deadlock if there was one; the tag protocol is then
// left as it is (its goroutines cannot be stopped).
func renewalAgainstCommits(victims int) (stuck string, err error) {
	store, err := memory.New(memory.Options{})
	if err != nil {
		return "", err
	}
	stall := &markStallingStore{tag: "a"}
	b, err := backend.Wrap(store, stall)
	if err != nil {
		return "", err
	}
	tags, err := invalidation.NewTags(b, invalidation.Options{Lease: 10 * time.Second, RenewEvery: 20 * time.Millisecond})
	if err != nil {
		return "", err
	}
	ctx := context.Background()
	sets := make([]*invalidation.WriteSet, victims)
	for i := range sets {
		sets[i] = tags.Begin()
		if err := sets[i].Touch(ctx, fmt.Sprintf("v%d", i)); err != nil {
			return "", err
		}
	}
	p := newPausePoint()
	stall.armed.Store(p)
	a := tags.Begin()
	touched := make(chan error, 1)
	go func() { touched <- a.Touch(ctx, "a") }()
	<-p.reached

	// Let the renewal run into A's lock: it waits there holding Tags.mu
	// (then Held blocks), or, in a protocol that does not hold Tags.mu
	// while it waits, within a few renewals.
	settle := time.Now().Add(200 * time.Millisecond)
	for time.Now().Before(settle) && !blocks(func() { tags.Held() }, 50*time.Millisecond) {
	}
	commits := make(chan error, victims)
	for _, ws := range sets {
		go func() { commits <- ws.Commit(ctx) }()
	}
	// Let each victim's Commit take its write set's lock (then Tags
	// blocks), if it does not finish first.
	for _, ws := range sets {
		blocks(func() { ws.Tags() }, 20*time.Millisecond)
	}
	close(p.release)
	if err := <-touched; err != nil {
		return "", err
	}
	for range victims {
		select {
		case err := <-commits:
			if err != nil {
				return "", err
			}
		case <-time.After(5 * time.Second):
			if blocks(func() { tags.Held() }, time.Second) {
				return "deadlock: the write sets' Commit did not return within 5s, and Tags.Held blocks: " +
					"Tags.renew holds Tags.mu and waits for a WriteSet.mu that WriteSet.finish holds while it waits for Tags.mu", nil
			}
			return "the write sets' Commit did not return within 5s (Tags.Held does not block)", nil
		}
	}
	if err := a.Rollback(ctx); err != nil {
		return "", err
	}
	return "", tags.Close(ctx)
}
