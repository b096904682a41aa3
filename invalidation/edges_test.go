package invalidation_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/invalidation"
)

// slowRenew is a proxy whose MarkPending, once armed, stops before it
// reaches the store until let go: a renewal in flight on the network.
type slowRenew struct {
	backend.ProxyBackend
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
	fail    atomic.Bool // ReleasePending fails
	renewed atomic.Bool // the held MarkPending reached the store
}

func (s *slowRenew) MarkPending(ctx context.Context, tags []string, owner string, lease time.Duration) error {
	if s.armed.CompareAndSwap(true, false) {
		close(s.entered)
		<-s.release
		defer s.renewed.Store(true)
	}
	return s.ProxyBackend.MarkPending(ctx, tags, owner, lease)
}

func (s *slowRenew) ReleasePending(ctx context.Context, tags []string, owner string, bump bool) error {
	if s.fail.Load() {
		return errDown
	}
	return s.ProxyBackend.ReleasePending(ctx, tags, owner, bump)
}

func newSlow(t *testing.T, o invalidation.Options) (*memory.Store, *slowRenew, *invalidation.Tags) {
	t.Helper()
	store, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := &slowRenew{entered: make(chan struct{}), release: make(chan struct{})}
	b, _ := backend.Wrap(store, p)
	if o.RetryMin == 0 {
		o.RetryMin, o.RetryMax = time.Millisecond, 10*time.Millisecond
	}
	tags, err := invalidation.NewTags(b, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = tags.Close(ctx)
	})
	return store, p, tags
}

// A renewal of an open write set's marks that is in flight when the write
// set commits must not put the marks back after the commit released them:
// every process would then bypass the cache for the tags for a whole lease.
func TestRenewalDoesNotResurrectReleasedMarks(t *testing.T) {
	store, p, tags := newSlow(t, invalidation.Options{Lease: time.Hour, RenewEvery: 5 * time.Millisecond})
	ctx := context.Background()
	ws := tags.Begin()
	if err := ws.Touch(ctx, "t:orders"); err != nil {
		t.Fatal(err)
	}
	p.armed.Store(true) // the next MarkPending is the renewal
	<-p.entered
	commitDone := make(chan error, 1)
	go func() { commitDone <- ws.Commit(ctx) }()
	var err error
	select {
	case err = <-commitDone:
		close(p.release)
	case <-time.After(200 * time.Millisecond):
		// Commit waits for the renewal in flight: the fixed behaviour.
		close(p.release)
		err = <-commitDone
	}
	if err != nil {
		t.Fatal(err)
	}
	// Let the renewal in flight reach the store.
	waitFor(t, "the renewal to end", func() bool { return p.renewed.Load() })
	st, _ := store.TagStates(ctx, []string{"t:orders"})
	if st[0].Pending {
		t.Fatalf("after Commit returned, the store shows t:orders pending again (%+v): a renewal in flight put the released mark back for a whole lease", st[0])
	}
}

// A write set touched after Close must not let its write go unbumped while
// Commit reports success.
func TestTouchAfterCloseStillBumps(t *testing.T) {
	store, _, tags := newSlow(t, invalidation.Options{})
	ctx := context.Background()
	before, _ := store.TagStates(ctx, []string{"t:orders"})
	if err := tags.Close(ctx); err != nil {
		t.Fatal(err)
	}
	ws := tags.Begin()
	terr := ws.Touch(ctx, "t:orders") // the caller reports it and writes (as cachedsql does)
	cerr := ws.Commit(ctx)
	after, _ := store.TagStates(ctx, []string{"t:orders"})
	if after[0].Version == before[0].Version && cerr == nil {
		t.Fatalf("Touch after Close = %v, then Commit = nil, but t:orders was never bumped (version %d): the write is lost to every process", terr, after[0].Version)
	}
}

// A write set open across Close whose commit the store refuses must not
// report the bump as deferred (to be retried) when nothing will retry it.
func TestCommitAfterCloseNotDeferred(t *testing.T) {
	_, p, tags := newSlow(t, invalidation.Options{})
	ctx := context.Background()
	ws := tags.Begin()
	if err := ws.Touch(ctx, "t:orders"); err != nil {
		t.Fatal(err)
	}
	if err := tags.Close(ctx); err != nil {
		t.Fatal(err)
	}
	p.fail.Store(true)
	err := ws.Commit(ctx)
	if err == nil {
		t.Fatal("Commit with the store down succeeded")
	}
	if errors.Is(err, invalidation.ErrDeferred) && tags.Owed() == 0 {
		t.Fatalf("Commit after Close = %v: it wraps ErrDeferred (\"retried in the background until it succeeds\") but nothing is owed or retried", err)
	}
}

// A lease too short to renew must be refused with ErrBadOptions, not
// panic in the background goroutine's ticker.
func TestTinyLeaseIsBadOptions(t *testing.T) {
	store, _ := memory.New(memory.Options{})
	for _, lease := range []time.Duration{1, 2, time.Microsecond} {
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("NewTags with Lease %v panicked: %v", lease, p)
				}
			}()
			tags, err := invalidation.NewTags(store, invalidation.Options{Lease: lease})
			if err == nil {
				_ = tags.Close(context.Background())
				t.Fatalf("NewTags with Lease %v = nil error, want ErrBadOptions", lease)
			}
			if !errors.Is(err, invalidation.ErrBadOptions) {
				t.Fatalf("NewTags with Lease %v = %v, want ErrBadOptions", lease, err)
			}
		}()
	}
}
