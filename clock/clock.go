// Package clock is the time source that regions, stores and the SQL layer
// read, so that tests move time instead of sleeping:
//
//	c := clock.NewManual(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
//	r := region.New("test", region.WithClock(c))
//	…
//	c.Advance(time.Hour) // every value with a shorter expiration is now stale
package clock

import (
	"sync"
	"time"
)

// Clock tells the time. Implementations are safe for concurrent use.
type Clock interface {
	Now() time.Time
}

// System is the wall clock, [time.Now].
var System Clock = systemClock{}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Manual is a clock that moves only when told to. It is safe for concurrent
// use by multiple goroutines.
type Manual struct {
	mu  sync.Mutex
	now time.Time // guarded by mu
}

// NewManual returns a clock stopped at start.
func NewManual(start time.Time) *Manual { return &Manual{now: start} }

// Now returns the clock's current time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// Advance moves the clock forward by d (backward when d is negative) and
// returns the new time.
func (m *Manual) Advance(d time.Duration) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.now = m.now.Add(d)
	return m.now
}

// Set moves the clock to t.
func (m *Manual) Set(t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.now = t
}
