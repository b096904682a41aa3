package region

import (
	"context"
	"sync/atomic"
	"time"
)

// Stats are a region's counters since it was made.
type Stats struct {
	// Hits counts lookups answered with a fresh value.
	Hits int64
	// Misses counts lookups that found no usable value (none, another
	// format version, hard-invalidated, undecodable, or a backend error).
	Misses int64
	// StaleServed counts stale values returned while a new one was being
	// made (by another caller, another process, or the async runner).
	StaleServed int64
	// Created counts creator calls that returned a value.
	Created int64
	// CreateErrors counts creator calls that returned an error or panicked.
	CreateErrors int64
	// LockWaits counts the times a caller waited for another's creation,
	// in this process or, through the backend's lock, in another.
	LockWaits int64
	// RemoteLockWaits counts those of LockWaits spent on the backend's
	// lock, waiting for another process's creation.
	RemoteLockWaits int64
	// BackendErrors counts failed backend calls (get, set, delete, lock).
	BackendErrors int64
	// DecodeErrors counts stored values that could not be decoded and
	// were treated as misses.
	DecodeErrors int64
	// AsyncQueued counts creations handed to the async runner.
	AsyncQueued int64
	// AsyncRejected counts creations the async runner would not take (its
	// queue was full or it was closed); the stale value was served.
	AsyncRejected int64
	// Invalidations counts calls of Invalidate.
	Invalidations int64
}

// counters holds the live counters. The hot ones are striped so that hits
// on many cores do not fight over one cache line.
type counters struct {
	hits, misses, stale                            striped
	created, createErrors, lockWaits, backendErrs  atomic.Int64
	decodeErrs, asyncQueued, asyncRejected, invals atomic.Int64
	remoteLockWaits                                atomic.Int64
}

func newCounters() *counters { return new(counters) }

func (c *counters) snapshot() Stats {
	return Stats{
		Hits:            c.hits.value(),
		Misses:          c.misses.value(),
		StaleServed:     c.stale.value(),
		Created:         c.created.Load(),
		CreateErrors:    c.createErrors.Load(),
		LockWaits:       c.lockWaits.Load(),
		RemoteLockWaits: c.remoteLockWaits.Load(),
		BackendErrors:   c.backendErrs.Load(),
		DecodeErrors:    c.decodeErrs.Load(),
		AsyncQueued:     c.asyncQueued.Load(),
		AsyncRejected:   c.asyncRejected.Load(),
		Invalidations:   c.invals.Load(),
	}
}

// EventKind names what happened in an [Event].
type EventKind uint8

// The events a region reports to its [Observer].
const (
	EventHit           EventKind = iota + 1 // a fresh value was returned
	EventMiss                               // no usable value was found
	EventStaleServed                        // a stale value was returned
	EventCreated                            // a creator returned a value; Duration is how long it took
	EventCreateError                        // a creator failed or panicked; Err says how
	EventLockWait                           // a caller waited for another's creation; Duration is how long
	EventBackendError                       // a backend call failed; Err says how
	EventDecodeError                        // a stored value could not be decoded; Err says why
	EventAsyncQueued                        // a creation was handed to the async runner
	EventAsyncRejected                      // the async runner would not take a creation
	EventInvalidated                        // the region was invalidated
)

var eventNames = [...]string{
	EventHit: "hit", EventMiss: "miss", EventStaleServed: "stale_served",
	EventCreated: "created", EventCreateError: "create_error", EventLockWait: "lock_wait",
	EventBackendError: "backend_error", EventDecodeError: "decode_error",
	EventAsyncQueued: "async_queued", EventAsyncRejected: "async_rejected",
	EventInvalidated: "invalidated",
}

func (k EventKind) String() string {
	if int(k) < len(eventNames) && eventNames[k] != "" {
		return eventNames[k]
	}
	return "unknown"
}

// Event is what an [Observer] is told. Fields may be added; an observer
// reads the ones it knows.
type Event struct {
	Kind EventKind
	// Region is the region's name.
	Region string
	// Key is the key concerned, after mangling; empty for region-wide
	// events.
	Key string
	// Duration is how long a creation or a lock wait took.
	Duration time.Duration
	// Err is the error of a failure event.
	Err error
	// Hard tells a hard invalidation from a soft one.
	Hard bool
	// Remote marks a lock wait on the backend's lock, for another
	// process's creation, from one for a creation in this process.
	Remote bool
}

// Observer is told of everything a region does, for metrics, tracing and
// logging (packages under contrib/ turn events into Prometheus series and
// OpenTelemetry spans). Observe is called synchronously on the hot path: it
// must be fast and must not call the region. It is safe for concurrent use.
type Observer interface {
	Observe(ctx context.Context, e Event)
}

// ObserverFunc adapts a function to [Observer].
type ObserverFunc func(ctx context.Context, e Event)

// Observe calls f.
func (f ObserverFunc) Observe(ctx context.Context, e Event) { f(ctx, e) }
