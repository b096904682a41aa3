package backend

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/dogpile-go/dogpile/clock"
)

// BreakerOptions configure a [Breaker]. The zero value of each field means
// its default.
type BreakerOptions struct {
	// Threshold is how many failed calls in a row open the breaker.
	// Default: 5.
	Threshold int
	// Cooldown is how long an open breaker answers every call with
	// [ErrBreakerOpen] without trying the store; then calls go through
	// again, and the next failure opens it at once. Default: 1s.
	Cooldown time.Duration
	// Clock reads the time. Default: [clock.System].
	Clock clock.Clock
}

// Breaker is a proxy that stops calling a store that keeps failing: after
// Threshold failed calls in a row it answers reads and writes of entries
// with [ErrBreakerOpen] at once for Cooldown, so that a store that is down
// or hangs costs each caller nothing instead of a timeout (a region then
// answers from the creator, as it does for any backend error). Context
// cancellations are not failures. Tag-version writes and locks pass through
// untouched. It is safe for concurrent use.
type Breaker struct {
	ProxyBackend
	o         BreakerOptions
	failures  atomic.Int64 // failed calls in a row
	openUntil atomic.Int64 // Unix nanoseconds; 0: closed
}

// NewBreaker returns a breaker for the proxy chain (see [Wrap]).
func NewBreaker(o BreakerOptions) (*Breaker, error) {
	if o.Threshold < 0 || o.Cooldown < 0 {
		return nil, fmt.Errorf("%w: breaker threshold (%d) and cooldown (%v) must not be negative", ErrBadArgument, o.Threshold, o.Cooldown)
	}
	if o.Threshold == 0 {
		o.Threshold = 5
	}
	if o.Cooldown == 0 {
		o.Cooldown = time.Second
	}
	if o.Clock == nil {
		o.Clock = clock.System
	}
	return &Breaker{o: o}, nil
}

// Open reports whether the breaker is answering calls itself now.
func (b *Breaker) Open() bool {
	until := b.openUntil.Load()
	return until != 0 && b.o.Clock.Now().UnixNano() < until
}

// allow reports whether a call may go to the store.
func (b *Breaker) allow() error {
	if b.Open() {
		return ErrBreakerOpen
	}
	return nil
}

// record notes a call's outcome.
func (b *Breaker) record(err error) {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// A success resets the breaker; only when there is something to
		// reset, so that the hits of many cores only read these words.
		if err == nil && (b.failures.Load() != 0 || b.openUntil.Load() != 0) {
			b.failures.Store(0)
			b.openUntil.Store(0)
		}
		return
	}
	if b.failures.Add(1) >= int64(b.o.Threshold) {
		b.openUntil.Store(b.o.Clock.Now().Add(b.o.Cooldown).UnixNano())
	}
}

// Get reads through the breaker.
func (b *Breaker) Get(ctx context.Context, key string) (Entry, bool, error) {
	if err := b.allow(); err != nil {
		return Entry{}, false, err
	}
	e, ok, err := b.Proxied().Get(ctx, key)
	b.record(err)
	return e, ok, err
}

// Set writes through the breaker.
func (b *Breaker) Set(ctx context.Context, key string, e Entry) error {
	if err := b.allow(); err != nil {
		return err
	}
	err := b.Proxied().Set(ctx, key, e)
	b.record(err)
	return err
}

// Delete deletes through the breaker.
func (b *Breaker) Delete(ctx context.Context, key string) error {
	if err := b.allow(); err != nil {
		return err
	}
	err := b.Proxied().Delete(ctx, key)
	b.record(err)
	return err
}

// GetMulti reads through the breaker.
func (b *Breaker) GetMulti(ctx context.Context, keys []string) ([]Entry, error) {
	if err := b.allow(); err != nil {
		return nil, err
	}
	es, err := GetMulti(ctx, b.Proxied(), keys)
	b.record(err)
	return es, err
}

// SetMulti writes through the breaker.
func (b *Breaker) SetMulti(ctx context.Context, entries []KeyedEntry, ttl time.Duration) error {
	if err := b.allow(); err != nil {
		return err
	}
	err := SetMulti(ctx, b.Proxied(), entries, ttl)
	b.record(err)
	return err
}

// DeleteMulti deletes through the breaker.
func (b *Breaker) DeleteMulti(ctx context.Context, keys []string) error {
	if err := b.allow(); err != nil {
		return err
	}
	err := DeleteMulti(ctx, b.Proxied(), keys)
	b.record(err)
	return err
}

// SetWithTTL writes through the breaker.
func (b *Breaker) SetWithTTL(ctx context.Context, key string, e Entry, ttl time.Duration) error {
	if err := b.allow(); err != nil {
		return err
	}
	err := SetWithTTL(ctx, b.Proxied(), key, e, ttl)
	b.record(err)
	return err
}

// GetTagged reads through the breaker.
func (b *Breaker) GetTagged(ctx context.Context, key string, tags []string) (Entry, bool, []TagState, error) {
	if err := b.allow(); err != nil {
		return Entry{}, false, nil, err
	}
	e, ok, st, err := GetTagged(ctx, b.Proxied(), key, tags)
	b.record(err)
	return e, ok, st, err
}

// TagStates reads through the breaker.
func (b *Breaker) TagStates(ctx context.Context, tags []string) ([]TagState, error) {
	if err := b.allow(); err != nil {
		return nil, err
	}
	st, err := b.ProxyBackend.TagStates(ctx, tags)
	b.record(err)
	return st, err
}
