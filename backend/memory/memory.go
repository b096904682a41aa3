package memory

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/clock"
	"github.com/dogpile-go/dogpile/serializer"
)

// Options configure a [Store]. The zero value is an unbounded object store.
type Options struct {
	// MaxEntries bounds the number of entries; 0 means no bound by count.
	// It cannot be combined with MaxBytes.
	MaxEntries int
	// MaxBytes bounds the estimated size of the entries in bytes; 0 means
	// no bound by size. A serialized store weighs each entry as its key and
	// data; an object store needs Weigher to weigh its values.
	MaxBytes int64
	// Weigher estimates the size in bytes of an object store's entry, for
	// MaxBytes. Default for a serialized store: len(key) + len(e.Data) + 64.
	Weigher func(key string, e backend.Entry) uint32
	// Serialized makes a bytes store: the region encodes values and every
	// hit decodes a fresh copy.
	Serialized bool
	// Serializer is the serializer a serialized store recommends to the
	// region. Default: [serializer.Default].
	Serializer backend.Serializer
	// EnableTTL makes the store drop entries written with a TTL once it
	// passes ([backend.TTLSetter]). Without it a TTL is ignored and entries
	// stay until evicted or deleted.
	EnableTTL bool
	// Clock times the leases of pending tag marks ([backend.TagStore]) and
	// the TTLs. Default: [clock.System], with TTLs judged by a coarse
	// clock so that a hit costs no clock read: a TTL may end up to a
	// millisecond early or late.
	Clock clock.Clock
}

// Store is the in-process store. It is safe for concurrent use by multiple
// goroutines.
type Store struct {
	cache      *otter.Cache[string, *item]
	tags       tagTable
	serialized bool
	ser        backend.Serializer
	ttl        bool
}

// item is what the otter cache holds, by pointer so that the cache moves
// one word per read: the entry and, with EnableTTL, the TTL it was written
// with (0: none). An item is never modified once stored.
type item struct {
	entry backend.Entry
	ttl   time.Duration
}

// ttlClock returns the clock otter reads on every operation, hits
// included, once it has TTLs to judge: c when the store has a clock of its
// own (a test's), and otherwise one coarse clock shared by every store,
// read with an atomic load instead of otter's default monotonic clock read,
// which costs tens of nanoseconds on a virtual machine, more than the rest
// of a hit. Otter's coarse clock counts monotonic time from a wall-clock
// start, so a step of the system clock moves no TTL.
func ttlClock(c clock.Clock) otter.Clock {
	if c == nil || c == clock.System {
		return sharedTTLClock()
	}
	return otterClock{c}
}

var sharedTTLClock = sync.OnceValue(func() *otter.CoarseClock { return otter.NewCoarseClock(time.Millisecond) })

// otterClock adapts a store's own clock to otter.
type otterClock struct{ c clock.Clock }

func (o otterClock) NowNano() int64 { return o.c.Now().UnixNano() }

// Tick gives otter the ticks of its periodic clean-up of expired entries.
func (otterClock) Tick(d time.Duration) <-chan time.Time { return time.Tick(d) }

// entryOverhead approximates the bookkeeping bytes of an entry beyond its key
// and data, for MaxBytes.
const entryOverhead = 64

// New makes a store.
func New(o Options) (*Store, error) {
	if o.MaxEntries < 0 || o.MaxBytes < 0 {
		return nil, fmt.Errorf("%w: memory store bounds must not be negative (max_entries %d, max_bytes %d)", backend.ErrBadArgument, o.MaxEntries, o.MaxBytes)
	}
	if o.MaxEntries > 0 && o.MaxBytes > 0 {
		return nil, fmt.Errorf("%w: memory store takes max_entries or max_bytes, not both", backend.ErrBadArgument)
	}
	weigher := o.Weigher
	if o.MaxBytes > 0 && weigher == nil {
		if !o.Serialized {
			return nil, fmt.Errorf("%w: an object memory store bounded by max_bytes needs a Weigher (or use max_entries, or a serialized store)", backend.ErrBadArgument)
		}
		weigher = func(key string, e backend.Entry) uint32 {
			n := len(key) + len(e.Data) + entryOverhead
			if n > math.MaxUint32 {
				return math.MaxUint32
			}
			return uint32(n)
		}
	}
	opts := &otter.Options[string, *item]{MaximumSize: o.MaxEntries}
	if o.MaxBytes > 0 {
		opts.MaximumWeight = uint64(o.MaxBytes)
		opts.Weigher = func(key string, it *item) uint32 { return weigher(key, it.entry) }
	}
	if o.EnableTTL {
		opts.Clock = ttlClock(o.Clock)
		opts.ExpiryCalculator = otter.ExpiryWritingFunc(func(e otter.Entry[string, *item]) time.Duration {
			if e.Value.ttl > 0 {
				return e.Value.ttl
			}
			return math.MaxInt64
		})
	}
	cache, err := otter.New(opts)
	if err != nil {
		return nil, fmt.Errorf("%w: memory store: %v", backend.ErrBadArgument, err)
	}
	s := &Store{cache: cache, serialized: o.Serialized, ttl: o.EnableTTL}
	c := o.Clock
	if c == nil {
		c = clock.System
	}
	s.tags.now = c.Now
	if o.Serialized {
		s.ser = o.Serializer
		if s.ser == nil {
			s.ser = serializer.Default
		}
	}
	return s, nil
}

// Get returns the entry stored under key.
func (s *Store) Get(_ context.Context, key string) (backend.Entry, bool, error) {
	it, ok := s.cache.GetIfPresent(key)
	if !ok {
		return backend.Entry{}, false, nil
	}
	return it.entry, true, nil
}

// GetEntry returns the entry stored under key itself, not a copy; the
// caller must not modify it ([backend.EntryReader]).
func (s *Store) GetEntry(_ context.Context, key string) (*backend.Entry, bool) {
	it, ok := s.cache.GetIfPresent(key)
	if !ok {
		return nil, false
	}
	return &it.entry, true
}

// Set stores e under key. A serialized store keeps e.Data, which the caller
// must not modify afterwards.
func (s *Store) Set(_ context.Context, key string, e backend.Entry) error {
	s.cache.Set(key, &item{entry: s.keep(e)})
	return nil
}

// SetWithTTL stores e under key, to be dropped after ttl when the store was
// made with EnableTTL.
func (s *Store) SetWithTTL(_ context.Context, key string, e backend.Entry, ttl time.Duration) error {
	if !s.ttl {
		ttl = 0
	}
	s.cache.Set(key, &item{entry: s.keep(e), ttl: ttl})
	return nil
}

// keep drops the half of the entry this kind of store does not hold, so a
// serialized store never keeps a reference to a caller's value.
func (s *Store) keep(e backend.Entry) backend.Entry {
	if s.serialized {
		e.Value = nil
	} else {
		e.Data = nil
	}
	return e
}

// Delete removes key.
func (s *Store) Delete(_ context.Context, key string) error {
	s.cache.Invalidate(key)
	return nil
}

// GetMulti returns the entries stored under keys, zero where missing.
func (s *Store) GetMulti(_ context.Context, keys []string) ([]backend.Entry, error) {
	out := make([]backend.Entry, len(keys))
	for i, k := range keys {
		if it, ok := s.cache.GetIfPresent(k); ok {
			out[i] = it.entry
		}
	}
	return out, nil
}

// SetMulti stores entries.
func (s *Store) SetMulti(_ context.Context, entries []backend.KeyedEntry, ttl time.Duration) error {
	if !s.ttl {
		ttl = 0
	}
	for _, ke := range entries {
		s.cache.Set(ke.Key, &item{entry: s.keep(ke.Entry), ttl: ttl})
	}
	return nil
}

// DeleteMulti removes keys.
func (s *Store) DeleteMulti(_ context.Context, keys []string) error {
	for _, k := range keys {
		s.cache.Invalidate(k)
	}
	return nil
}

// Serializer returns the store's serializer for a serialized store, and nil
// for an object store.
func (s *Store) Serializer() backend.Serializer {
	if !s.serialized {
		return nil
	}
	return s.ser
}

// Len returns the number of entries held, once evictions and expiries
// still pending have run; an estimate under concurrent writes.
func (s *Store) Len() int {
	s.cache.CleanUp()
	return s.cache.EstimatedSize()
}

// Clear removes every entry.
func (s *Store) Clear() { s.cache.InvalidateAll() }

// Close stops the cache's background goroutines. The store must not be used
// afterwards.
func (s *Store) Close() error {
	s.cache.StopAllGoroutines()
	return nil
}

var (
	_ backend.Backend      = (*Store)(nil)
	_ backend.MultiGetter  = (*Store)(nil)
	_ backend.MultiSetter  = (*Store)(nil)
	_ backend.MultiDeleter = (*Store)(nil)
	_ backend.TTLSetter    = (*Store)(nil)
	_ backend.Serializing  = (*Store)(nil)
	_ backend.EntryReader  = (*Store)(nil)
)
