package region_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/region"
)

// Dropped counts tasks refused because the queue was full, and only those:
// a Run that loses a race with Close is refused because the pool is
// closed, with room in the queue.
func TestPoolDroppedCountsOnlyAFullQueue(t *testing.T) {
	for i := range 2000 {
		p, _ := region.NewPool(region.PoolOptions{Workers: 2, QueueSize: 1 << 20})
		var wg sync.WaitGroup
		var accepted, ran atomic.Int64
		start := make(chan struct{})
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for range 50 {
					if p.Run(func() error { ran.Add(1); return nil }) {
						accepted.Add(1)
					}
				}
			}()
		}
		close(start)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := p.Close(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
		wg.Wait()
		st := p.Stats()
		if st.Dropped != 0 {
			t.Fatalf("round %d: queue never full, yet Dropped = %d (accepted %d)", i, st.Dropped, accepted.Load())
		}
		if ran.Load() != accepted.Load() {
			t.Fatalf("round %d: %d accepted, %d ran after Close", i, accepted.Load(), ran.Load())
		}
	}
}

// A runner job whose creator needs another key that has no usable value
// (hard-invalidated) and whose refresh sits in the runner's queue behind it
// waits for that queued job, which cannot start while every worker is
// busy: a deadlock. Here the inner call has a 2 s timeout so the test ends;
// a creator's context is detached, so without one it would hang forever
// (and Pool.Close with it).
func TestRunnerJobNeedingAQueuedJob(t *testing.T) {
	pool := newPool(t, region.PoolOptions{Workers: 1, QueueSize: 8})
	r, clk := setup(t, region.Config{Expiration: time.Minute}, region.WithRunner(pool))
	ctx := context.Background()
	_ = region.Set(ctx, r, "k1", "old1")
	_ = region.Set(ctx, r, "k2", "old2")
	clk.Advance(time.Hour)
	started, release := make(chan struct{}), make(chan struct{})
	inner := make(chan error, 1)
	// k1's refresh runs on the only worker and, once released, needs k2.
	_, _ = region.GetOrCreate(ctx, r, "k1", func(ctx context.Context) (string, error) {
		close(started)
		<-release
		ictx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err := region.GetOrCreate(ictx, r, "k2", func(context.Context) (string, error) { return "new2", nil })
		inner <- err
		return "new1", err
	})
	<-started
	// k2's refresh is queued behind it.
	if v, _ := region.GetOrCreate(ctx, r, "k2", func(context.Context) (string, error) { return "new2", nil }); v != "old2" {
		t.Fatalf("k2 = %q, want the stale value", v)
	}
	waitFor(t, "k2's job queued", func() bool { return r.Stats().AsyncQueued == 2 })
	clk.Advance(time.Second)
	_ = r.Invalidate(ctx, true) // k2 now has no usable value
	close(release)
	if err := <-inner; err != nil {
		t.Fatalf("k1's creator asking for k2 = %v; it waited for k2's job, queued behind itself", err)
	}
}
