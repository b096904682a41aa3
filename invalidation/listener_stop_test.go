package invalidation_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/internal/testenv"
	"github.com/dogpile-go/dogpile/invalidation"
)

// A listener stopped while it is deaf (its connection lost, the next one
// not made yet) must not simply stop bypassing the cache: writes committed
// while it was deaf were heard by no one, and entries filled before them
// would be served from then on. It invalidates everything first, as a
// reconnection would (found in an audit: Run released the bypass and
// returned, and the entry cached before a write made while the listener
// was down was served after it). A listener stopped while healthy missed
// nothing, and leaves the cache alone: a clean shutdown must not flush
// every process's cache.
func TestListenerStoppedWhileDeafInvalidatesEverything(t *testing.T) {
	var gate atomic.Bool // closed: connection attempts fail
	f := newPGFixture(t, testenv.PostgresDB(t), pgFixtureOptions{
		backoff:   invalidation.Backoff{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		pingEvery: 100 * time.Millisecond,
		beforeConnect: func(context.Context) error {
			if gate.Load() {
				return errors.New("gate closed")
			}
			return nil
		},
	})
	stop := runUntilStopped(t, f.l)
	f.wantCached(t, 0)
	gate.Store(true)
	testenv.Psql(t, f.dsn, fmt.Sprintf("SELECT pg_terminate_backend(%d)", f.l.Stats().PID))
	waitUntil(t, 10*time.Second, "the listener to go down", func() bool { return !f.l.Healthy() })
	// Heard by no one: the listener is deaf and stays so.
	testenv.Psql(t, f.dsn, "UPDATE items SET v = 1 WHERE id = 1")
	stop()
	if got := f.readRetry(t); got != 1 {
		t.Errorf("read %d after the listener stopped while deaf, want 1: an entry from before a write it missed was served", got)
	}

	// A clean stop, from health, invalidates nothing.
	g := newPGFixture(t, testenv.PostgresDB(t), pgFixtureOptions{})
	stop = runUntilStopped(t, g.l)
	g.wantCached(t, 0)
	before := g.version(t, "lt:*")
	stop()
	if g.version(t, "lt:*") != before {
		t.Error("a listener stopped while healthy invalidated everything")
	}
	g.wantCached(t, 0)
}

// runUntilStopped runs l until the returned stop is called (or the test
// ends), once it is healthy.
func runUntilStopped(t *testing.T, l *invalidation.Listener) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- l.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-ran; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	wctx, wcancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer wcancel()
	if err := l.WaitHealthy(wctx); err != nil {
		t.Fatal(err)
	}
	return stop
}

// A bump that the Tags refuses once closed is not retried by anyone: the
// Listener counts it as dropped, not deferred (which says a retry will
// land it).
func TestListenerCountsDroppedBumps(t *testing.T) {
	store := &awayStore{}
	f := newPGFixture(t, testenv.PostgresDB(t), pgFixtureOptions{store: store, bumpTimeout: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- f.l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-ran // ErrClosed or nil: the Tags were closed under it
	})
	wctx, wcancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer wcancel()
	if err := f.l.WaitHealthy(wctx); err != nil {
		t.Fatal(err)
	}
	store.mode.Store(storeRefuses)
	cctx, ccancel := context.WithTimeout(t.Context(), time.Second)
	defer ccancel()
	_ = f.db.Tags().Close(cctx)
	testenv.Psql(t, f.dsn, "UPDATE items SET v = v + 1 WHERE id = 1")
	waitUntil(t, 10*time.Second, "the bump to be refused", func() bool {
		s := f.l.Stats()
		return s.Dropped+s.Deferred > 0 && s.Backlog == 0
	})
	if s := f.l.Stats(); s.Dropped != 1 || s.Deferred != 0 {
		t.Errorf("a bump refused after Close: Dropped %d, Deferred %d; want 1 and 0", s.Dropped, s.Deferred)
	}
}
