package region

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"

	"github.com/alitto/pond/v2"
)

// Runner runs creations in the background for a region configured with
// [WithRunner] (dogpile's async_creation_runner). The region hands it a
// task when a caller finds a stale value: the task creates and stores the
// new value and releases the key's lock; meanwhile every caller gets the
// stale value.
//
// Run must not block: it returns false when it cannot take the task (its
// queue is full, it is closed), and the region then releases the lock and
// serves the stale value, to try again on a later call. Implementations are
// safe for concurrent use.
//
// A task runs at most once. A caller with no value to serve (the stale one
// was hard-invalidated since, say) that finds its key's creation still
// waiting in the runner's queue runs it itself, in a goroutine of its own,
// rather than wait behind the queue: a creator running on the runner that
// needs such a key would otherwise wait for a task queued behind itself,
// for good when every worker does. The runner's copy of the task then
// does nothing.
type Runner interface {
	Run(task func() error) bool
}

// PoolOptions configure a [Pool]. The zero value is a pool with one worker
// per CPU and a queue of 1024 tasks.
type PoolOptions struct {
	// Workers bounds the number of creations running at once. Default:
	// runtime.GOMAXPROCS(0).
	Workers int
	// QueueSize bounds the number of creations waiting for a worker; when
	// it is full, Run refuses new ones. Default: 1024.
	QueueSize int
}

// Pool is the goroutine-pool [Runner]: a bounded number of workers and a
// bounded queue, so a burst of stale keys can neither start unbounded
// goroutines nor grow an unbounded backlog. It is safe for concurrent use.
type Pool struct {
	pool pond.Pool
	// dropped counts the tasks refused because the queue was full. pond's
	// own count also takes in a Run that loses a race with Close, which
	// is refused because the pool is closed.
	dropped atomic.Uint64
}

// NewPool starts a pool. Close it to drain it.
func NewPool(o PoolOptions) (*Pool, error) {
	if o.Workers < 0 || o.QueueSize < 0 {
		return nil, fmt.Errorf("%w: pool workers (%d) and queue size (%d) must not be negative", ErrBadConfig, o.Workers, o.QueueSize)
	}
	if o.Workers == 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.QueueSize == 0 {
		o.QueueSize = 1024
	}
	return &Pool{pool: pond.NewPool(o.Workers, pond.WithQueueSize(o.QueueSize), pond.WithNonBlocking(true))}, nil
}

// Run queues task, or returns false when the queue is full or the pool is
// closed.
func (p *Pool) Run(task func() error) bool {
	if p.pool.Stopped() {
		return false
	}
	t, ok := p.pool.TrySubmitErr(task)
	// A refused task's future is resolved before TrySubmitErr returns.
	if !ok && errors.Is(t.Wait(), pond.ErrQueueFull) {
		p.dropped.Add(1)
	}
	return ok
}

// Close stops the pool taking tasks and waits until the queued and running
// ones are done, or ctx ends.
func (p *Pool) Close(ctx context.Context) error {
	done := p.pool.Stop().Done()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("region: pool close: %w", ctx.Err())
	}
}

// PoolStats are a pool's counters.
type PoolStats struct {
	// Queued is the number of tasks waiting for a worker now.
	Queued uint64
	// Running is the number of tasks running now.
	Running int64
	// Done counts tasks that finished, successfully or not.
	Done uint64
	// Failed counts tasks that returned an error or panicked.
	Failed uint64
	// Dropped counts tasks refused because the queue was full.
	Dropped uint64
}

// Stats returns the pool's counters.
func (p *Pool) Stats() PoolStats {
	return PoolStats{
		Queued:  p.pool.WaitingTasks(),
		Running: p.pool.RunningWorkers(),
		Done:    p.pool.CompletedTasks(),
		Failed:  p.pool.FailedTasks(),
		Dropped: p.dropped.Load(),
	}
}

var _ Runner = (*Pool)(nil)
