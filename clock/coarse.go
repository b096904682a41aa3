package clock

import (
	"sync"
	"sync/atomic"
	"time"
)

// CoarseResolution is how often the shared coarse clock ([SystemCoarse])
// reads the wall clock.
const CoarseResolution = time.Millisecond

// Coarse is a clock that reads the wall clock once per resolution, in a
// goroutine of its own, so that reading it costs an atomic load instead of a
// clock read: on virtual machines time.Now can cost more than a cache hit.
// Its time lags the wall clock by at most the resolution. It is safe for
// concurrent use.
type Coarse struct {
	_    [128]byte    // now is read on every cache hit: keep it off lines others write
	now  atomic.Int64 // Unix nanoseconds at the last tick
	_    [120]byte
	stop chan struct{}
	once sync.Once
}

// NewCoarse starts a coarse clock that reads the wall clock every
// resolution. Stop it when done.
func NewCoarse(resolution time.Duration) *Coarse {
	if resolution <= 0 {
		resolution = CoarseResolution
	}
	c := &Coarse{stop: make(chan struct{})}
	c.now.Store(time.Now().UnixNano())
	go func() {
		t := time.NewTicker(resolution)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case now := <-t.C:
				c.now.Store(now.UnixNano())
			}
		}
	}()
	return c
}

// Now returns the time of the clock's last tick.
func (c *Coarse) Now() time.Time { return time.Unix(0, c.now.Load()) }

// NowNano returns the time of the clock's last tick in Unix nanoseconds.
func (c *Coarse) NowNano() int64 { return c.now.Load() }

// Stop stops the clock's goroutine; the clock then stays at its last tick.
func (c *Coarse) Stop() { c.once.Do(func() { close(c.stop) }) }

// SystemCoarse returns the process's shared coarse clock, started on first
// use and never stopped. Regions on the system clock use it to judge
// whether a hit has expired, where a millisecond of lag does not matter;
// creation and invalidation times are read from the precise clock.
var SystemCoarse = sync.OnceValue(func() *Coarse { return NewCoarse(CoarseResolution) })
