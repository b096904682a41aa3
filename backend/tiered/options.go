package tiered

import (
	"fmt"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/redis"
	"github.com/dogpile-go/dogpile/clock"
)

// Coherence says how a near hit of a tagged entry is checked against tag
// invalidations made by other processes (see the package documentation).
type Coherence uint8

const (
	// Strict checks a near hit of a tagged entry against the tag states
	// in Redis, read in one round trip that carries no payload: a bump
	// that returned in any process is seen by the next read in every
	// process. It is the default.
	Strict Coherence = iota
	// Bounded also caches tag states in the process, dropped by the
	// pub/sub messages that every tag operation publishes and never kept
	// longer than Options.MaxTagAge: a near hit of a tagged entry costs
	// no round trip, and a bump made by another process may go unseen
	// for as long as its message takes to arrive (bounded by MaxTagAge).
	Bounded
)

// String returns the mode's name, as [ParseCoherence] reads it.
func (c Coherence) String() string {
	switch c {
	case Strict:
		return "strict"
	case Bounded:
		return "bounded"
	}
	return fmt.Sprintf("Coherence(%d)", uint8(c))
}

// ParseCoherence reads "strict" or "bounded" ("" is strict).
func ParseCoherence(s string) (Coherence, error) {
	switch s {
	case "", "strict":
		return Strict, nil
	case "bounded":
		return Bounded, nil
	}
	return Strict, fmt.Errorf("%w: coherence %q: want strict or bounded", backend.ErrBadArgument, s)
}

// Options configure a [Store]. The far tier is given by exactly one of
// Redis and Far. The zero value of every other field means its default.
type Options struct {
	// Redis configures the far store, which the tiered store makes and
	// closes (see [redis.Options]; an existing client given as
	// Redis.Client stays open).
	Redis *redis.Options
	// Far is an existing Redis store to put the near tier in front of.
	// The tiered store does not close it.
	Far *redis.Store

	// Channel is the pub/sub channel that carries invalidations between
	// the processes sharing the far store. Every process that uses the
	// same keys must use the same channel. Default: the far store's key
	// prefix + "dogpile:tiered", the same whether it is given as Redis
	// or as Far.
	Channel string

	// MaxBytes bounds the near tier's size: the keys and encoded values
	// it holds, plus a small overhead per entry. An entry larger than an
	// eighth of it is not kept near. Default: 64 MiB. It cannot be
	// combined with MaxEntries.
	MaxBytes int64
	// MaxEntries bounds the near tier by count instead of size. Default:
	// no bound by count (MaxBytes bounds it).
	MaxEntries int
	// NearTTL is the longest an entry stays in the near tier without
	// being read again from Redis. It bounds how long a near copy can
	// outlive a write whose invalidation message was lost while this
	// process stayed subscribed (the writer's PUBLISH failed after its
	// write). Default: one minute; a negative value means no limit.
	// Whatever it is, a near copy never outlives the entry in Redis: a
	// read takes the TTL Redis has left along with the entry, and a write
	// the TTL it gave (or the far store's Expiration).
	NearTTL time.Duration

	// Coherence is how near hits of tagged entries are checked. Default:
	// [Strict].
	Coherence Coherence
	// MaxTagAge, in [Bounded] coherence, is the longest a tag state read
	// from Redis is used without being read again, whatever the messages
	// say. Default: one second.
	MaxTagAge time.Duration
	// MaxCachedTags, in [Bounded] coherence, bounds the number of tag
	// states cached; past it the cache is emptied. Default: 10,000.
	MaxCachedTags int

	// PingEvery is how long the subscription may stay silent before the
	// store pings Redis over it; a ping unanswered for as long again
	// counts as a lost subscription (the near tier is then dropped and
	// bypassed). Default: one second.
	PingEvery time.Duration
	// RetryMin and RetryMax bound the pause between attempts to
	// subscribe again after the subscription was lost; it doubles from
	// RetryMin. Defaults: 10ms and 1s.
	RetryMin, RetryMax time.Duration

	// Clock times the age of cached tag states. Default: a coarse system
	// clock (millisecond resolution, an atomic load per read).
	Clock clock.Clock
	// OnError, when set, is told of failures the store recovers from by
	// itself: a lost subscription, a failed ping. It must not block.
	OnError func(error)
}

const (
	defaultMaxBytes      = 64 << 20
	defaultNearTTL       = time.Minute
	defaultMaxTagAge     = time.Second
	defaultMaxCachedTags = 10_000
	defaultPingEvery     = time.Second
	defaultRetryMin      = 10 * time.Millisecond
	defaultRetryMax      = time.Second
	defaultChannel       = "dogpile:tiered"
)

func (o *Options) validate() error {
	if (o.Redis == nil) == (o.Far == nil) {
		return fmt.Errorf("%w: tiered store needs exactly one of Redis and Far", backend.ErrBadArgument)
	}
	if o.MaxBytes < 0 || o.MaxEntries < 0 || o.MaxCachedTags < 0 {
		return fmt.Errorf("%w: tiered bounds must not be negative (MaxBytes %d, MaxEntries %d, MaxCachedTags %d)",
			backend.ErrBadArgument, o.MaxBytes, o.MaxEntries, o.MaxCachedTags)
	}
	if o.MaxBytes > 0 && o.MaxEntries > 0 {
		return fmt.Errorf("%w: tiered store takes MaxBytes or MaxEntries, not both", backend.ErrBadArgument)
	}
	if o.Coherence > Bounded {
		return fmt.Errorf("%w: tiered coherence %v", backend.ErrBadArgument, o.Coherence)
	}
	for name, d := range map[string]time.Duration{
		"MaxTagAge": o.MaxTagAge, "PingEvery": o.PingEvery, "RetryMin": o.RetryMin, "RetryMax": o.RetryMax,
	} {
		if d < 0 {
			return fmt.Errorf("%w: tiered %s is negative (%v)", backend.ErrBadArgument, name, d)
		}
	}
	if o.MaxBytes == 0 && o.MaxEntries == 0 {
		o.MaxBytes = defaultMaxBytes
	}
	if o.NearTTL == 0 {
		o.NearTTL = defaultNearTTL
	}
	if o.MaxTagAge == 0 {
		o.MaxTagAge = defaultMaxTagAge
	}
	if o.MaxCachedTags == 0 {
		o.MaxCachedTags = defaultMaxCachedTags
	}
	if o.PingEvery == 0 {
		o.PingEvery = defaultPingEvery
	}
	if o.RetryMin == 0 {
		o.RetryMin = defaultRetryMin
	}
	if o.RetryMax == 0 {
		o.RetryMax = defaultRetryMax
	}
	o.RetryMax = max(o.RetryMax, o.RetryMin)
	if o.Channel == "" {
		if o.Redis != nil {
			o.Channel = o.Redis.KeyPrefix + defaultChannel
		} else {
			o.Channel = o.Far.KeyPrefix() + defaultChannel
		}
	}
	if o.Clock == nil {
		o.Clock = clock.SystemCoarse()
	}
	return nil
}
