package region

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dogpile-go/dogpile/backend"
)

// flightGroup is the in-process half of the dogpile lock: at most one
// creation per key at a time, whose outcome every caller that waits on it
// receives (x/sync/singleflight's shape, with the flight's result read after
// done is closed).
type flightGroup struct {
	mu sync.Mutex
	m  map[string]*flight // guarded by mu; a key is present while its creation runs
}

// flight is one creation of one key.
type flight struct {
	done chan struct{} // closed when the outcome below is final
	// handedOff is closed when the creation was handed to the async
	// runner, so that the caller that started it can return its stale
	// value without waiting.
	handedOff chan struct{}

	// Written once, before done is closed; read after.
	val   any   // the created (or re-read) value
	err   error // the creator's or the lock's error
	retry bool  // nothing was made here (the lock is busy elsewhere): look again

	// tags are the tag versions val is valid for, for a tagged call:
	// written before done (or handedOff) is closed. A caller that joined
	// the flight after a bump (its own lookup saw newer versions) must not
	// take a value read before it.
	tags []backend.TagVersion
	// started is the region's sequence number taken just before the
	// creator ran (0: it did not run): a caller that saw a tag pending may
	// take the value only if it was read after the caller began.
	started uint64
	// created is when the value was made (the creation's start, as
	// stored), or, for a value found rather than made, its stored creation
	// time; zero when unknown. Written before done is closed. A caller
	// that joined the flight must not take a value that a hard
	// invalidation has since made void: it may have begun after the
	// invalidation.
	created time.Time
	// steal, set before handedOff is closed (runner path only), starts
	// the handed-off job in a goroutine of its own unless a worker, or
	// another caller, started it already.
	steal func()
}

// claimable wraps job, the creation handed to the runner, so that it runs
// once: task, for the runner, runs it unless it was claimed already, and
// f.steal runs it in a goroutine of its own on the same terms. claim
// claims it without running it (for a runner that refused the task), and
// reports whether it was still unclaimed.
func (f *flight) claimable(job func() error) (task func() error, claim func() bool) {
	var claimed atomic.Bool
	claim = func() bool { return claimed.CompareAndSwap(false, true) }
	task = func() error {
		if !claim() {
			return nil
		}
		return job()
	}
	f.steal = func() {
		if claim() {
			go func() { _ = job() }()
		}
	}
	return task, claim
}

// await waits until f lands, handedOff (when not nil) is closed, or ctx
// ends. A caller that has no value to serve (handedOff nil) and sees the
// creation handed to the async runner starts the job itself if no worker
// has yet: it would otherwise wait for the runner's queue, perhaps from a
// job that holds the only worker.
func (f *flight) await(ctx context.Context, handedOff <-chan struct{}) error {
	var stealable <-chan struct{}
	if handedOff == nil {
		stealable = f.handedOff
	}
	for {
		select {
		case <-f.done:
			return nil
		case <-handedOff:
			return nil
		case <-stealable:
			stealable = nil
			if f.steal != nil {
				f.steal()
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// join returns the key's flight in progress, or starts one; lead reports
// whether the caller started it and so must land it.
func (g *flightGroup) join(key string) (f *flight, lead bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f := g.m[key]; f != nil {
		return f, false
	}
	if g.m == nil {
		g.m = make(map[string]*flight)
	}
	f = &flight{done: make(chan struct{}), handedOff: make(chan struct{})}
	g.m[key] = f
	return f, true
}

// land ends f with its outcome. The key is free for a new flight before any
// waiter wakes up, so a waiter told to retry can start one.
func (g *flightGroup) land(key string, f *flight, val any, err error, retry bool) {
	g.mu.Lock()
	if g.m[key] == f {
		delete(g.m, key)
	}
	g.mu.Unlock()
	f.val, f.err, f.retry = val, err, retry
	close(f.done)
}

// inFlight reports whether key is being created.
func (g *flightGroup) inFlight(key string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.m[key] != nil
}
