package invalidation

import (
	"context"
	"encoding/binary"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/clock"
	"github.com/dogpile-go/dogpile/region"
)

// SharedOptions configure [Shared]. The zero value of each field means its
// default.
type SharedOptions struct {
	// Interval is how often the state is read from the store in the
	// background: how long another process's Invalidate may take to be
	// honoured here, when the store cannot say at once that it changed.
	// Default: one second.
	Interval time.Duration
	// Timeout bounds each background call to the store. Default: Interval.
	Timeout time.Duration
	// Skew is how far ahead of the invalidating process's clock another
	// process's clock may run without letting a value it made just before
	// the invalidation survive it: every value created before an
	// invalidation's time plus Skew counts as invalidated. The price is
	// that values made within Skew after an invalidation are made again.
	// Default: 0, for clocks kept in step by NTP to well under the time a
	// value takes to make.
	Skew time.Duration
	// Clock is read for the time of an invalidation. Default:
	// [clock.System]. Give the regions' clock, so that the times compared
	// come from the same source.
	Clock clock.Clock
	// OnError, when set, is told of every failure of the background
	// refresh. It must not block.
	OnError func(error)
}

func (o *SharedOptions) validate() error {
	for name, d := range map[string]time.Duration{"Interval": o.Interval, "Timeout": o.Timeout, "Skew": o.Skew} {
		if d < 0 {
			return fmt.Errorf("%w: %s is negative (%v)", ErrBadOptions, name, d)
		}
	}
	if o.Interval == 0 {
		o.Interval = time.Second
	}
	if o.Timeout == 0 {
		o.Timeout = o.Interval
	}
	if o.Clock == nil {
		o.Clock = clock.System
	}
	return nil
}

// KeyWatcher is implemented by stores that hear of other processes' writes
// to a key as they happen (backend/tiered, over Redis pub/sub). fn is
// called after another process wrote or deleted key, and whenever the store
// may have missed such news; it must not block. Stop ends the calls.
//
// Without it, [Shared] learns of other processes' invalidations at its next
// background read only.
type KeyWatcher interface {
	WatchKey(key string, fn func()) (stop func())
}

// Shared is a region invalidation strategy ([region.InvalidationStrategy])
// whose state lives in a store, so that [region.Region.Invalidate] in one
// process is honoured by every process that shares the store and key.
//
// The state is two times, of the last hard and the last soft invalidation,
// kept apart as [region.LocalInvalidation] keeps them. Invalidated, called
// on every hit, reads them from memory (two atomic loads). Invalidate
// updates them in memory at once and then in the store; a goroutine reads
// the store every Interval, and at once when the store is a [KeyWatcher]
// that reports a change. Times only move forward: what this process holds
// and what the store holds are merged by taking the later of each, and
// when the store is behind (a write failed, the entry was evicted or
// expired) the merged state is written back, so that the state survives
// as long as one process remembers it.
//
// # Clocks
//
// Values carry the time they were created by the clock of the process that
// made them, and an invalidation carries the time of the invalidating
// process's clock. A value is invalidated when it was created before the
// invalidation's time (plus Options.Skew). So if the creating process's
// clock runs ahead of the invalidating one's by d, a value it began to make
// less than d before the invalidation survives it; if it runs behind, a
// value made up to d after the invalidation is made again for nothing.
// Skew trades the first for the second. A clock-free design (generation
// numbers) does not fit: a stored value records only its creation time,
// and the strategy is asked about that alone. Tags (see [Tags]), which
// compare versions and never clocks, are the tool for invalidations that
// must never miss.
//
// Until the state has been read from the store once, every value created
// before the strategy was made counts as hard-invalidated: a process that
// has not read the state cannot know which old values stand.
//
// A Shared is safe for concurrent use by multiple goroutines.
type Shared struct {
	b       backend.Backend
	key     string // as the store sees it
	o       SharedOptions
	bytes   bool  // the store keeps bytes, not Go values
	started int64 // Unix nanoseconds when made

	hard, soft atomic.Int64 // Unix nanoseconds of the last invalidations; 0: none
	known      atomic.Bool  // the state has been read from the store once

	syncMu sync.Mutex // serializes read-merge-write rounds with the store

	closeOnce sync.Once
	closed    atomic.Bool
	wake      chan struct{}
	stop      chan struct{}
	done      chan struct{}
	unwatch   func()
}

// sharedVersion is the format version of the stored state's entry, apart
// from any a region writes, so that a region reading the key by mistake
// sees a miss.
const sharedVersion uint16 = 0x5349

// sharedState is the state as an object store keeps it.
type sharedState struct {
	Hard, Soft int64
}

// NewShared starts a shared strategy whose state is the entry under key in
// b (any store: bytes or objects; through b's key mangler if it has one).
// It reads the state once before it returns, bounded by o.Timeout; a store
// that cannot answer is reported to o.OnError, not returned, and read again
// in the background. Close it to stop its goroutine.
func NewShared(b backend.Backend, key string, o SharedOptions) (*Shared, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if b == nil || key == "" {
		return nil, fmt.Errorf("%w: a shared invalidation strategy needs a store and a key", ErrBadOptions)
	}
	if m := backend.KeyManglerOf(b); m != nil {
		key = m(key)
	}
	s := &Shared{
		b: b, key: key, o: o,
		bytes:   backend.SerializerOf(b) != nil,
		started: o.Clock.Now().UnixNano(),
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	if w, ok := backend.Find[KeyWatcher](b); ok {
		s.unwatch = w.WatchKey(key, s.poke)
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
	if err := s.Refresh(ctx); err != nil {
		s.report(err)
	}
	cancel()
	go s.loop()
	return s, nil
}

// poke asks the background goroutine to read the state now.
func (s *Shared) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Invalidate invalidates every value created before now, in this process at
// once and in the store before it returns. When the store cannot be
// written, the error wraps [ErrDeferred]: this process honours the
// invalidation already, and the background refresh writes it to the store
// when it can.
func (s *Shared) Invalidate(ctx context.Context, hard bool) error {
	if s.closed.Load() {
		return ErrClosed
	}
	now := s.o.Clock.Now().UnixNano()
	if hard {
		raise(&s.hard, now)
	} else {
		raise(&s.soft, now)
	}
	if err := s.sync(ctx); err != nil {
		err = fmt.Errorf("%w: %w", ErrDeferred, err)
		s.report(err)
		return err
	}
	return nil
}

// Invalidated reports whether a value created at created has been
// invalidated, and how.
func (s *Shared) Invalidated(created time.Time) region.Invalidation {
	ct := created.UnixNano()
	if !s.known.Load() && ct < s.started {
		return region.HardInvalidated
	}
	if h := s.hard.Load(); h != 0 && ct < h+int64(s.o.Skew) {
		return region.HardInvalidated
	}
	if sf := s.soft.Load(); sf != 0 && ct < sf+int64(s.o.Skew) {
		return region.SoftInvalidated
	}
	return region.NotInvalidated
}

// Times returns the times of the last hard and soft invalidations this
// process knows of (zero for none).
func (s *Shared) Times() (hard, soft time.Time) {
	return unixTime(s.hard.Load()), unixTime(s.soft.Load())
}

func unixTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Refresh reads the state from the store now, merges it with this
// process's, and writes the merged state back when the store was behind.
func (s *Shared) Refresh(ctx context.Context) error {
	return s.sync(ctx)
}

// sync is one read-merge-write round with the store. The write, needed
// only when the store is behind this process, is made under the store's
// lock for the key (and, within the process, a lock shared by every
// Shared on the same store and key), after reading the state again: two
// processes' rounds cannot interleave, so neither writes over a time the
// other wrote between its read and its write.
func (s *Shared) sync(ctx context.Context) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	behind, err := s.read(ctx)
	if err != nil || !behind {
		return err
	}
	unlock := lockState(s.b, s.key)
	defer unlock()
	if m := backend.MutexFor(s.b, s.key); m != nil {
		if err := m.Lock(ctx); err != nil {
			return fmt.Errorf("invalidation: locking the shared state %q: %w", s.key, err)
		}
		defer m.Unlock(context.WithoutCancel(ctx))
	}
	if behind, err = s.read(ctx); err != nil || !behind {
		return err
	}
	local := sharedState{Hard: s.hard.Load(), Soft: s.soft.Load()}
	if err := s.b.Set(ctx, s.key, s.encode(local)); err != nil {
		return fmt.Errorf("invalidation: writing the shared state %q: %w", s.key, err)
	}
	return nil
}

// read reads the state from the store and merges it into this process's,
// reporting whether the store is behind the merged state.
func (s *Shared) read(ctx context.Context) (behind bool, err error) {
	e, ok, err := s.b.Get(ctx, s.key)
	if err != nil {
		return false, fmt.Errorf("invalidation: reading the shared state %q: %w", s.key, err)
	}
	var remote sharedState
	if ok {
		remote, _ = s.decode(e) // an entry of another format counts as none
	}
	raise(&s.hard, remote.Hard)
	raise(&s.soft, remote.Soft)
	s.known.Store(true)
	local := sharedState{Hard: s.hard.Load(), Soft: s.soft.Load()}
	return local != remote && local != (sharedState{}), nil
}

// stateLocks holds, per store and key, the lock that orders the writes of
// the Shared strategies of this process on them.
var stateLocks sync.Map // stateLock → *sync.Mutex

type stateLock struct {
	store backend.Backend
	key   string
}

// lockState takes the process's lock for key in b, and returns its unlock.
func lockState(b backend.Backend, key string) (unlock func()) {
	store := backend.ActualBackend(b)
	if !reflect.TypeOf(store).Comparable() {
		return func() {}
	}
	mu, _ := stateLocks.LoadOrStore(stateLock{store, key}, new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	return mu.(*sync.Mutex).Unlock
}

// raise moves a to v if v is later.
func raise(a *atomic.Int64, v int64) {
	for {
		cur := a.Load()
		if v <= cur || a.CompareAndSwap(cur, v) {
			return
		}
	}
}

// The state as a bytes store keeps it: a magic byte, then the hard and
// soft times as big-endian Unix nanoseconds.
const sharedMagic = 0xD5

func (s *Shared) encode(st sharedState) backend.Entry {
	e := backend.Entry{Meta: backend.Metadata{Created: s.o.Clock.Now(), Version: sharedVersion}}
	if !s.bytes {
		e.Value = st
		return e
	}
	b := make([]byte, 0, 17)
	b = append(b, sharedMagic)
	b = binary.BigEndian.AppendUint64(b, uint64(st.Hard))
	e.Data = binary.BigEndian.AppendUint64(b, uint64(st.Soft))
	return e
}

func (s *Shared) decode(e backend.Entry) (sharedState, bool) {
	if e.Meta.Version != sharedVersion {
		return sharedState{}, false
	}
	if st, ok := e.Value.(sharedState); ok {
		return st, true
	}
	if len(e.Data) != 17 || e.Data[0] != sharedMagic {
		return sharedState{}, false
	}
	return sharedState{
		Hard: int64(binary.BigEndian.Uint64(e.Data[1:9])),
		Soft: int64(binary.BigEndian.Uint64(e.Data[9:17])),
	}, true
}

// loop reads the state every Interval, and when poked.
func (s *Shared) loop() {
	defer close(s.done)
	t := time.NewTicker(s.o.Interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-s.wake:
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.o.Timeout)
		if err := s.sync(ctx); err != nil {
			s.report(err)
		}
		cancel()
	}
}

func (s *Shared) report(err error) {
	if s.o.OnError != nil && err != nil {
		s.o.OnError(err)
	}
}

// Close stops the background refresh, after a last round with the store
// (bounded by Options.Timeout) that writes back an invalidation whose
// write was deferred. Invalidated goes on answering from the last state
// known; Invalidate returns [ErrClosed].
func (s *Shared) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		if s.unwatch != nil {
			s.unwatch()
		}
		close(s.stop)
		<-s.done
		// A last round, for an Invalidate whose write was deferred: once
		// closed, this process no longer writes it back.
		ctx, cancel := context.WithTimeout(context.Background(), s.o.Timeout)
		if err := s.sync(ctx); err != nil {
			s.report(err)
		}
		cancel()
	})
	return nil
}

var _ region.InvalidationStrategy = (*Shared)(nil)
