package invalidation_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/clock"
	"github.com/dogpile-go/dogpile/invalidation"
	"github.com/dogpile-go/dogpile/region"
)

// gatedSet is a proxy whose next Set, once armed, waits until released:
// it stands for a slow round trip between a process's read and its write.
type gatedSet struct {
	backend.ProxyBackend
	armed    atomic.Bool
	entered  chan struct{}
	released chan struct{}
}

func (g *gatedSet) Set(ctx context.Context, key string, e backend.Entry) error {
	if g.armed.CompareAndSwap(true, false) {
		close(g.entered)
		<-g.released
	}
	return g.ProxyBackend.Set(ctx, key, e)
}

// Two processes invalidate at once: B (soft) reads the state, and before
// its write lands A (hard) invalidates. Neither write may undo the other
// (found in an audit: B's write of what it had merged before A's write
// overwrote A's hard time, A's call had returned nil, and once A exited
// no process remembered it). Here the rounds cannot interleave: A's waits
// for B's, then merges it.
func TestSharedConcurrentInvalidationsBothLand(t *testing.T) {
	ctx := context.Background()
	m, _ := memory.New(memory.Options{})
	t.Cleanup(func() { _ = m.Close() })
	g := &gatedSet{entered: make(chan struct{}), released: make(chan struct{})}
	g.SetProxied(m)

	clk := clock.NewManual(time.Now())
	o := invalidation.SharedOptions{Interval: time.Hour, Clock: clk}
	sa, err := invalidation.NewShared(m, "inv", o)
	if err != nil {
		t.Fatal(err)
	}
	sb := newShared(t, g, "inv", o)

	clk.Advance(time.Second)
	g.armed.Store(true)
	bDone := make(chan error, 1)
	go func() { bDone <- sb.Invalidate(ctx, false) }() // B: soft, reads, then waits to write
	<-g.entered

	clk.Advance(time.Second)
	aDone := make(chan error, 1)
	go func() { aDone <- sa.Invalidate(ctx, true) }() // A: hard
	select {
	case err := <-aDone: // written while B's round was under way
		if err != nil {
			t.Fatal(err)
		}
		aDone <- nil
	case <-time.After(100 * time.Millisecond): // waiting for B's round
	}
	close(g.released) // B writes
	if err := <-bDone; err != nil {
		t.Fatal(err)
	}
	if err := <-aDone; err != nil {
		t.Fatal(err)
	}
	hardAt, softAt := sa.Times()
	sa.Close() // A's process exits
	_ = sb.Refresh(ctx)

	sc := newShared(t, m, "inv", o) // a process started later
	if h, s := sc.Times(); !h.Equal(hardAt) || s.IsZero() {
		t.Errorf("the store holds hard %v, soft %v; want A's hard %v and B's soft (A saw soft %v)", h, s, hardAt, softAt)
	}
	if got := sc.Invalidated(hardAt.Add(-time.Millisecond)); got != region.HardInvalidated {
		t.Errorf("a value created before A's hard invalidation: %v, want HardInvalidated", got)
	}
}
