package region

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/dogpile-go/dogpile/backend"
)

// Creator makes the value for a key. It runs on a context detached from the
// caller that triggered it (values kept, cancellation not): one caller's
// cancel does not fail the others who wait for the same value.
type Creator[V any] func(ctx context.Context) (V, error)

// GetOrCreate returns the value cached under key, creating it with create
// when there is none, under the dogpile lock:
//
//   - a fresh value is returned at once;
//   - with no value (or a hard-invalidated one), one caller creates it —
//     one per process, and one across processes when the backend has a
//     creation lock — and every other caller waits for that creation and
//     gets its outcome, value or error;
//   - with a stale value (expired or soft-invalidated), one caller creates
//     a new one while the others get the stale value at once; with an async
//     runner ([WithRunner]) the creation runs in the background and every
//     caller gets the stale value.
//
// The creator's error is returned to every waiter and is not cached; a
// panic in the creator becomes a [*PanicError]. Each caller stops waiting
// when its own ctx ends, with ctx's error; the creation goes on for the
// others.
func GetOrCreate[V any](ctx context.Context, r *Region, key string, create Creator[V], opts ...CallOption) (V, error) {
	// tryFastHit, written out: each call a hit goes through costs it about
	// a nanosecond, a twentieth of the hit.
	if c := r.cfg.Load(); c != nil && len(opts) == 0 && c.fast {
		k := c.mangle(key)
		if e, ok := c.reader.GetEntry(ctx, k); ok && e.Meta.Version == valueVersion && len(e.Meta.Tags) == 0 && c.fresh(e.Meta.Created.UnixNano(), r.nowNano()) {
			if v, ok := e.Value.(V); ok {
				r.stats.hits.inc()
				if r.observer != nil {
					r.observeKey(ctx, EventHit, k)
				}
				return v, nil
			}
		}
	}
	return getOrCreate(ctx, r, key, create, opts)
}

// tryFastHit serves the commonest hit in one function: a call with no
// options on a region whose in-process store holds Go values, with local
// invalidation and a fixed expiration ([config.fast]). It is lookup and
// judge cut down to that case, and reports false for anything but a fresh,
// untagged entry of type V; the caller then takes the general path, which
// reads the key again and judges it in full (and the same way: a hit here
// is a hit there).
func tryFastHit[V any](ctx context.Context, r *Region, key string, opts []CallOption) (V, bool) {
	if c := r.cfg.Load(); c != nil && len(opts) == 0 && c.fast {
		k := c.mangle(key)
		if e, ok := c.reader.GetEntry(ctx, k); ok && e.Meta.Version == valueVersion && len(e.Meta.Tags) == 0 && c.fresh(e.Meta.Created.UnixNano(), r.nowNano()) {
			if v, ok := e.Value.(V); ok {
				r.stats.hits.inc()
				if r.observer != nil {
					r.observeKey(ctx, EventHit, k)
				}
				return v, true
			}
		}
	}
	var zero V
	return zero, false
}

// getOrCreate is GetOrCreate past the fast hit path.
func getOrCreate[V any](ctx context.Context, r *Region, key string, create Creator[V], opts []CallOption) (V, error) {
	c, err := r.configured()
	if err != nil {
		var zero V
		return zero, err
	}
	k := c.mangle(key)
	o, err := r.resolved(c, options(opts))
	if err != nil {
		var zero V
		return zero, err
	}
	if o.refresh {
		var zero V
		return getOrCreateSlow(ctx, r, c, key, k, zero, missing, nil, create, o)
	}
	var info lookupInfo
	var ip *lookupInfo // only a tagged call needs what the lookup saw
	if len(o.tags) > 0 {
		ip = &info
	}
	v, st, err := lookup[V](ctx, r, c, k, o, ip)
	if err != nil || st == fresh {
		if err == nil {
			r.hit(ctx, k)
		}
		return v, err
	}
	return getOrCreateSlow(ctx, r, c, key, k, v, st, info.states, create, o)
}

// getOrCreateSlow is the dogpile lock for one key whose lookup found st
// (and, for a tagged call, the tag states seen).
func getOrCreateSlow[V any](ctx context.Context, r *Region, c *config, key, k string, staleV V, st state, seen []backend.TagState, create Creator[V], o *callOptions) (V, error) {
	var zero V
	tagged := len(o.tags) > 0
	// Taken once, after the first lookup, so no earlier than the call
	// began: a creation that starts after it read its rows after the call
	// began, whichever round of the loop below joins it. A refresh takes
	// only such a creation's value.
	var looked uint64
	if tagged || o.refresh {
		looked = r.seq.Add(1)
	}
	for {
		if st == missing || st == bypass {
			r.miss(ctx, k)
		}
		f, lead := r.flights.join(k)
		if lead {
			go fly(context.WithoutCancel(ctx), r, c, key, k, f, st == stale, create, o)
		} else if st == stale {
			// Another caller is making the new value: have the old one.
			r.staleServed(ctx, k)
			return staleV, nil
		}
		waited := time.Now()
		if !lead {
			r.stats.lockWaits.Add(1)
		}
		// Only a caller with a stale value to serve stops waiting when the
		// creation goes to the async runner.
		var handedOff <-chan struct{}
		if st == stale {
			handedOff = f.handedOff
		}
		if err := f.await(ctx, handedOff); err != nil {
			return zero, err
		}
		if handedOff != nil && closed(handedOff) {
			// The async runner took the creation (and may have finished it
			// already: select picks at random among ready cases): serve
			// the stale value.
			r.staleServed(ctx, k)
			return staleV, nil
		}
		if !lead {
			r.observe(ctx, Event{Kind: EventLockWait, Key: k, Duration: time.Since(waited)})
		}
		_, isAbsent := f.val.(absent) // a MultiFunc's creator made no value for k
		switch {
		case o.refresh && f.err == nil && (f.retry || isAbsent || f.started <= looked):
			// A refresh takes only a value made after it began: this
			// flight made none (the lock was held elsewhere, or it found
			// a cached value), or began before. Go round again, creating.
			staleV, st = zero, missing
			continue
		case !lead && f.err == nil && !f.retry && !isAbsent && c.hardInvalidated(f.created, o):
			// The value was made (or found) before a hard invalidation
			// this caller may have begun after: look again.
		case !f.retry && !isAbsent && (lead || f.err != nil || !tagged || joinable(f, o.tags, seen, looked)):
			return flightResult[V](f, k)
		case f.retry && st == stale:
			// The lock is held elsewhere: serve the stale value.
			r.staleServed(ctx, k)
			return staleV, nil
		}
		// The flight made nothing we can use, or made it from tag versions
		// older than this call saw (it began before a write this call
		// began after): look again.
		var info lookupInfo
		v, nst, err := lookup[V](ctx, r, c, k, o, &info)
		seen = info.states
		if nst == bypass {
			nst = missing // nothing to serve: wait for or lead a creation
		}
		if err != nil {
			return zero, err
		}
		if nst == fresh {
			r.hit(ctx, k)
			return v, nil
		}
		staleV, st = v, nst
	}
}

// joinable reports whether a tagged caller that looked up its key at
// sequence number looked (seeing tag states seen) may take the value of a
// flight it joined. A value made before the caller began is current for it
// only if no write can have committed since: the caller saw the versions
// the value was made under and no tag pending (a writer commits while its
// tags are pending, and bumps them before it releases them). Otherwise the
// value must have been read after the caller began.
func joinable(f *flight, tags []string, seen []backend.TagState, looked uint64) bool {
	return f.started > looked || backend.TagsMatch(f.tags, tags, seen)
}

// closed reports whether ch is closed, without waiting.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func flightResult[V any](f *flight, k string) (V, error) {
	if f.err != nil {
		var zero V
		return zero, f.err
	}
	return fromValue[V](k, f.val)
}

// fly runs one creation of k for the flight f: it takes the backend's
// creation lock, looks again, and creates (or hands creation to the async
// runner), then lands f. ctx is detached from the callers.
func fly[V any](ctx context.Context, r *Region, c *config, key, k string, f *flight, hadStale bool, create Creator[V], o *callOptions) {
	var (
		val       any
		err       error
		retry     bool
		handedOff bool
		mu        backend.Mutex
		returned  bool // the work below ended by returning, not by a panic or Goexit
	)
	defer func() {
		if p := recover(); p != nil || !returned {
			val, err, retry = nil, abortErr(key, p), false
		}
		if handedOff {
			return
		}
		if mu != nil {
			r.unlockBackend(ctx, c, k, mu)
		}
		r.flights.land(k, f, val, err, retry)
	}()
	func() {
		var acquired bool
		mu, acquired, err = r.lockBackend(ctx, c, k, hadStale)
		if err != nil {
			return
		}
		if !acquired {
			retry = true
			return
		}
		// Look again now that the key is ours: another caller of this process
		// may have landed its flight between our lookup and our join, or
		// another process may have made the value while we waited for its
		// lock. A flight stores its value before it lands, so this sees it.
		// For a tagged call this look also reads the tag versions the new
		// value will record: read before the creator runs, as they must be.
		var info lookupInfo
		v, st, lerr := lookup[V](ctx, r, c, k, o.forRecheck(), &info)
		if lerr != nil {
			err = lerr
			return
		}
		if st == fresh && !o.refresh {
			val, f.tags, f.created = v, info.meta.Tags, info.meta.Created
			return
		}
		w := write{tags: tagVersions(o.tags, info.states), skip: st == bypass}
		f.tags = w.tags
		f.started = r.seq.Add(1)
		if hadStale && r.runner != nil && !w.skip {
			held := mu
			job := func() (jerr error) {
				var v V
				returned := false
				defer func() {
					if p := recover(); p != nil || !returned {
						jerr = abortErr(key, p)
					}
					if held != nil {
						r.unlockBackend(ctx, c, k, held)
					}
					var jval any
					if jerr == nil {
						jval = v
					}
					r.flights.land(k, f, jval, jerr, false)
				}()
				v, f.created, jerr = createAndStore(ctx, r, c, key, k, create, o, w)
				returned = true
				return jerr
			}
			// The caller that started this serves its stale value from now
			// on, whether the runner takes the job or not; tell it before the
			// job can finish, so that it never waits for the job's outcome.
			task, claim := f.claimable(job)
			close(f.handedOff)
			if r.runner.Run(task) {
				handedOff = true
				r.stats.asyncQueued.Add(1)
				r.observe(ctx, Event{Kind: EventAsyncQueued, Key: k})
				return
			}
			if !claim() {
				// A caller with no value to serve started the job
				// itself (see await): it is the job's to land.
				handedOff = true
				return
			}
			r.stats.asyncRejected.Add(1)
			r.observe(ctx, Event{Kind: EventAsyncRejected, Key: k})
			retry = true
			return
		}
		var created V
		created, f.created, err = createAndStore(ctx, r, c, key, k, create, o, w)
		if err == nil {
			val = created
		}
	}()
	returned = true
}

// write says how a created value is stored: with which tag versions, or
// not at all (a tag is pending).
type write struct {
	tags []backend.TagVersion
	skip bool
}

// createAndStore calls the creator and stores what it made, unless w says
// not to or ShouldCache rejects it. The value is stamped with the time the
// creation started, not ended, so that a value computed from data read
// before an invalidation never counts as made after it.
func createAndStore[V any](ctx context.Context, r *Region, c *config, key, k string, create Creator[V], o *callOptions, w write) (V, time.Time, error) {
	created := r.clock.Now()
	start := time.Now()
	v, err := callCreator(ctx, key, create)
	if err != nil {
		r.stats.createErrors.Add(1)
		r.observe(ctx, Event{Kind: EventCreateError, Key: k, Err: err, Duration: time.Since(start)})
		return v, created, err
	}
	r.stats.created.Add(1)
	r.observe(ctx, Event{Kind: EventCreated, Key: k, Duration: time.Since(start)})
	if w.skip || (o.shouldCache != nil && !o.shouldCache(v)) {
		return v, created, nil
	}
	return v, created, store(ctx, r, c, k, v, created, w.tags, o)
}

// hardInvalidated reports whether a value created at created (zero:
// unknown, taken as not) has been hard-invalidated, as a call with o
// judges it.
func (c *config) hardInvalidated(created time.Time, o *callOptions) bool {
	if created.IsZero() || o.ignoreExpiration {
		return false
	}
	if c.local != nil {
		return c.local.Invalidated(created) == HardInvalidated
	}
	return c.invalidation.Invalidated(created) == HardInvalidated
}

// callCreator runs create, turning a panic into a *PanicError.
func callCreator[V any](ctx context.Context, key string, create Creator[V]) (v V, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{Key: key, Value: p, Stack: debug.Stack()}
		}
	}()
	return create(ctx)
}

// lockBackend takes the backend's creation lock for k when it has one.
// With tryOnly (a stale value is there to serve) it does not wait: acquired
// is false when another process holds the lock. mu is nil when the backend
// has no lock, or when taking it failed and the region carries on without.
func (r *Region) lockBackend(ctx context.Context, c *config, k string, tryOnly bool) (mu backend.Mutex, acquired bool, err error) {
	m := backend.MutexFor(c.backend, k)
	if m == nil {
		return nil, true, nil
	}
	ok, err := m.TryLock(ctx)
	switch {
	case err != nil:
		if err := r.backendError(ctx, c, k, err); err != nil {
			return nil, false, err
		}
		return nil, true, nil // carry on without the lock
	case ok:
		return m, true, nil
	case tryOnly:
		return nil, false, nil
	}
	r.stats.lockWaits.Add(1)
	r.stats.remoteLockWaits.Add(1)
	start := time.Now()
	err = m.Lock(ctx)
	if err == nil {
		// The lock is ours before the caller holds the handle: an observer
		// that panics must not leave it held until its timeout.
		defer func() {
			if p := recover(); p != nil {
				r.unlockBackend(ctx, c, k, m)
				panic(p)
			}
		}()
	}
	r.observe(ctx, Event{Kind: EventLockWait, Key: k, Duration: time.Since(start), Err: err, Remote: true})
	if err == nil {
		return m, true, nil
	}
	if errors.Is(err, backend.ErrLockTimeout) {
		return nil, false, fmt.Errorf("region %q: key %q: %w", r.name, k, err)
	}
	if err := r.backendError(ctx, c, k, err); err != nil {
		return nil, false, err
	}
	return nil, true, nil
}

func (r *Region) unlockBackend(ctx context.Context, c *config, k string, mu backend.Mutex) {
	if err := mu.Unlock(ctx); err != nil {
		_ = r.backendError(ctx, c, k, fmt.Errorf("releasing the creation lock: %w", err))
	}
}
