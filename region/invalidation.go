package region

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/dogpile-go/dogpile/clock"
)

// Invalidation says whether, and how, a value has been invalidated.
type Invalidation uint8

const (
	// NotInvalidated: the value stands.
	NotInvalidated Invalidation = iota
	// SoftInvalidated: the value is stale. Callers get it while one of
	// them creates a new one, as with an expired value.
	SoftInvalidated
	// HardInvalidated: the value is gone. Callers wait for a new one.
	HardInvalidated
)

func (i Invalidation) String() string {
	switch i {
	case NotInvalidated:
		return "not invalidated"
	case SoftInvalidated:
		return "soft"
	case HardInvalidated:
		return "hard"
	}
	return "Invalidation(" + strconv.Itoa(int(i)) + ")"
}

// InvalidationStrategy decides which stored values [Region.Invalidate] has
// invalidated (dogpile's RegionInvalidationStrategy). Invalidated is called
// on every hit, so it must be cheap: keep the state in memory and refresh
// it out of band if it lives elsewhere.
//
// Implementations are safe for concurrent use by multiple goroutines.
type InvalidationStrategy interface {
	// Invalidate invalidates every value created before now: hard means
	// callers wait for new values, soft means they get the old one while
	// one of them makes a new one.
	Invalidate(ctx context.Context, hard bool) error
	// Invalidated reports whether a value created at created has been
	// invalidated, and how.
	Invalidated(created time.Time) Invalidation
}

// LocalInvalidation is the default [InvalidationStrategy]: the invalidation
// times are kept in this process's memory, so they reach neither other
// processes nor other regions, as in dogpile. Package invalidation has a
// strategy shared through the backend.
//
// Unlike dogpile's default, which keeps one time and the kind of the last
// call, it keeps the last hard and the last soft invalidation apart: a soft
// invalidation after a hard one does not turn values the hard one removed
// back into stale values that may be served.
type LocalInvalidation struct {
	_     pad          // the times are read on every hit: keep them off lines others write
	hard  atomic.Int64 // Unix nanoseconds of the last hard invalidation; 0: none
	soft  atomic.Int64 // Unix nanoseconds of the last soft invalidation; 0: none
	clock clock.Clock
	_     pad
}

// NewLocalInvalidation returns a strategy that reads the time from c
// (nil: [clock.System]).
func NewLocalInvalidation(c clock.Clock) *LocalInvalidation {
	if c == nil {
		c = clock.System
	}
	return &LocalInvalidation{clock: c}
}

// Invalidate records the invalidation time.
func (l *LocalInvalidation) Invalidate(_ context.Context, hard bool) error {
	now := l.clock.Now().UnixNano()
	if hard {
		l.hard.Store(now)
	} else {
		l.soft.Store(now)
	}
	return nil
}

// Invalidated compares created with the recorded times.
func (l *LocalInvalidation) Invalidated(created time.Time) Invalidation {
	return invalidatedAt(created.UnixNano(), l.hard.Load(), l.soft.Load())
}

// invalidatedAt classifies a value created at created given the times (all
// Unix nanoseconds; 0 for never) of the last hard and soft invalidation. A
// value created at the very instant of an invalidation stands, as in
// dogpile.
func invalidatedAt(created, hard, soft int64) Invalidation {
	switch {
	case hard == 0 && soft == 0:
		return NotInvalidated
	case created < hard:
		return HardInvalidated
	case created < soft:
		return SoftInvalidated
	}
	return NotInvalidated
}
