package region

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"time"

	"github.com/dogpile-go/dogpile/backend"
)

// MultiCreator makes the values for keys, one per key, in the order of
// keys.
type MultiCreator[V any] func(ctx context.Context, keys []string) ([]V, error)

// GetOrCreateMulti is [GetOrCreate] for many keys at once: it returns one
// value per key, in the order of keys. Values are read in one backend round
// trip where the backend allows; the keys that need creating are given to
// create in one call (sorted, without repeats), and the new values are
// written in one round trip. Locks are taken in key order, so concurrent
// calls with overlapping keys cannot deadlock. As with GetOrCreate, a key
// being created by another caller is waited for (no value) or served stale.
func GetOrCreateMulti[V any](ctx context.Context, r *Region, keys []string, create MultiCreator[V], opts ...CallOption) ([]V, error) {
	c, err := r.configured()
	if err != nil {
		return nil, err
	}
	vals, _, err := getOrCreateMulti(ctx, r, c, keys, func(ctx context.Context, keys []string) ([]V, []bool, error) {
		vs, err := create(ctx, keys)
		if err != nil {
			return nil, nil, err
		}
		if len(vs) != len(keys) {
			return nil, nil, fmt.Errorf("%w: %d values for %d keys", ErrCreatorResult, len(vs), len(keys))
		}
		return vs, nil, nil
	}, options(opts), false)
	return vals, err
}

// multiCreator is the creator the multi-key machinery runs: one value per
// key, and, when present is not nil, whether the creator made a value for
// that key at all (a cached function returning a map may leave keys out).
type multiCreator[V any] func(ctx context.Context, keys []string) (vals []V, present []bool, err error)

// multiNote is an event of a multi-key call's lookup, reported once its
// flights are flying: a hit (fresh), a miss (missing) or a stale value
// served (stale).
type multiNote struct {
	k  string
	st state
}

// absent is the outcome of a flight whose creator made no value for its key.
type absent struct{}

// multiItem is one key of a multi-key call that needs a creation.
type multiItem[V any] struct {
	key, k   string
	f        *flight
	lead     bool
	hadStale bool
	staleV   V
	mu       backend.Mutex // the backend lock held for it, if any
	async    bool          // handed to the async runner with the others in its batch
	landed   bool          // its flight has landed
}

// getOrCreateMulti is the dogpile lock for several keys. absentOK says the
// caller (a MultiFunc) takes "no value" for a key, as its creator may make
// none; another caller that joins such a flight creates the value itself.
func getOrCreateMulti[V any](ctx context.Context, r *Region, c *config, keys []string, create multiCreator[V], o *callOptions, absentOK bool) ([]V, []bool, error) {
	type outcome struct {
		v  V
		ok bool
	}
	o, err := r.resolved(c, o)
	if err != nil {
		return nil, nil, err
	}
	results := make(map[string]outcome, len(keys))
	pending := slices.Clone(keys)
	slices.Sort(pending)
	pending = slices.Compact(pending)
	var looked uint64 // see getOrCreateSlow: taken once, after the first lookup
	for len(pending) > 0 {
		mangled := mangleAll(c, pending)
		vals, sts, seen, err := lookupMulti[V](ctx, r, c, mangled, o, nil)
		if looked == 0 && (len(o.tags) > 0 || o.refresh) {
			looked = r.seq.Add(1) // only tagged calls and refreshes judge flights by it
		}
		if err != nil {
			return nil, nil, err
		}
		var items, led []*multiItem[V]
		// The observer is told of hits, misses and stale values only once
		// the flights this call leads are flying: an observer that panics
		// between two joins would leave the flights joined so far with no
		// one to land them, their keys locked for good.
		var notes []multiNote
		for i, key := range pending {
			k, v, st := mangled[i], vals[i], sts[i]
			if o.refresh {
				var zero V
				v, st = zero, missing
			}
			switch st {
			case fresh:
				notes = append(notes, multiNote{k, fresh})
				results[key] = outcome{v, true}
				continue
			case missing, bypass:
				notes = append(notes, multiNote{k, missing})
			}
			f, lead := r.flights.join(k)
			if !lead && st == stale {
				notes = append(notes, multiNote{k, stale})
				results[key] = outcome{v, true}
				continue
			}
			it := &multiItem[V]{key: key, k: k, f: f, lead: lead, hadStale: st == stale, staleV: v}
			items = append(items, it)
			if lead {
				led = append(led, it)
			} else {
				r.stats.lockWaits.Add(1)
			}
		}
		if len(led) > 0 {
			go flyMulti(context.WithoutCancel(ctx), r, c, led, create, o)
		}
		for _, n := range notes {
			switch n.st {
			case fresh:
				r.hit(ctx, n.k)
			case missing:
				r.miss(ctx, n.k)
			case stale:
				r.staleServed(ctx, n.k)
			}
		}
		var next []string
		waited := time.Now()
		for _, it := range items {
			var handedOff <-chan struct{}
			if it.hadStale {
				handedOff = it.f.handedOff
			}
			if err := it.f.await(ctx, handedOff); err != nil {
				return nil, nil, err
			}
			if handedOff != nil && closed(handedOff) {
				r.staleServed(ctx, it.k)
				results[it.key] = outcome{it.staleV, true}
				continue
			}
			if !it.lead {
				r.observe(ctx, Event{Kind: EventLockWait, Key: it.k, Duration: time.Since(waited)})
			}
			_, isAbsent := it.f.val.(absent)
			switch {
			case it.f.err != nil:
				return nil, nil, it.f.err
			case o.refresh && (it.f.retry || it.f.started <= looked):
				// A refresh takes only a value made after it began (see
				// getOrCreateSlow): look again, and create.
				next = append(next, it.key)
			case isAbsent && !absentOK:
				// A MultiFunc's creator made no value for this key; this
				// caller needs one: look again, and create it.
				next = append(next, it.key)
			case !it.lead && !it.f.retry && !isAbsent && c.hardInvalidated(it.f.created, o):
				// Made (or found) before a hard invalidation this call may
				// have begun after (see getOrCreateSlow): look again.
				next = append(next, it.key)
			case it.f.retry && it.hadStale:
				r.staleServed(ctx, it.k)
				results[it.key] = outcome{it.staleV, true}
			case it.f.retry, !it.lead && len(o.tags) > 0 && !joinable(it.f, o.tags, seen, looked):
				// Nothing made, or made from tag versions older than this
				// call saw: look again.
				next = append(next, it.key)
			default:
				if isAbsent {
					results[it.key] = outcome{}
					continue
				}
				v, err := fromValue[V](it.k, it.f.val)
				if err != nil {
					return nil, nil, err
				}
				results[it.key] = outcome{v, true}
			}
		}
		pending = next
	}
	vals := make([]V, len(keys))
	present := make([]bool, len(keys))
	for i, key := range keys {
		res := results[key]
		vals[i], present[i] = res.v, res.ok
	}
	return vals, present, nil
}

// flyMulti runs the creations of the keys a multi-key call leads, sorted
// by key: it takes their backend locks in that order, looks again, and
// creates what is still needed in one creator call (the stale keys in a
// second one on the async runner, when the region has one). Every item is
// landed exactly once; once items are handed to the runner, only the
// runner's job touches them.
func flyMulti[V any](ctx context.Context, r *Region, c *config, items []*multiItem[V], create multiCreator[V], o *callOptions) {
	handedOff := false
	returned := false // the work below ended by returning, not by a panic or Goexit
	defer func() {
		if p := recover(); p != nil || !returned {
			err := abortErr(items[0].key, p)
			for _, it := range items {
				if !(handedOff && it.async) {
					it.land(ctx, r, c, nil, err, false)
				}
			}
		}
	}()
	flyMultiWork(ctx, r, c, items, create, o, &handedOff)
	returned = true
}

// flyMultiWork is flyMulti's work; it sets *handedOff once the stale
// items' batch is the async runner's to land.
func flyMultiWork[V any](ctx context.Context, r *Region, c *config, items []*multiItem[V], create multiCreator[V], o *callOptions, handedOff *bool) {
	for _, it := range items {
		mu, acquired, err := r.lockBackend(ctx, c, it.k, it.hadStale)
		switch {
		case err != nil:
			it.land(ctx, r, c, nil, err, false)
		case !acquired:
			it.land(ctx, r, c, nil, nil, true)
		default:
			it.mu = mu
		}
	}
	w, err := recheck(ctx, r, c, items, o)
	if err != nil {
		for _, it := range items {
			it.land(ctx, r, c, nil, err, false)
		}
		return
	}

	var now, later []*multiItem[V]
	for _, it := range items {
		switch {
		case it.landed:
		case it.hadStale && r.runner != nil && !w.skip:
			it.async = true
			later = append(later, it)
		default:
			now = append(now, it)
		}
	}
	if len(later) > 0 {
		job := func() (err error) {
			returned := false
			defer func() {
				if p := recover(); p != nil || !returned {
					err = abortErr(later[0].key, p)
				}
				landAll(ctx, r, c, later, err)
			}()
			err = createBatch(ctx, r, c, later, create, o, w)
			returned = true
			return err
		}
		task, claim := later[0].f.claimable(job)
		for _, it := range later {
			it.f.steal = later[0].f.steal // one job lands them all
			close(it.f.handedOff)         // before the job can finish: see fly
		}
		if r.runner.Run(task) {
			*handedOff = true
			r.stats.asyncQueued.Add(int64(len(later)))
			for _, it := range later {
				r.observe(ctx, Event{Kind: EventAsyncQueued, Key: it.k})
			}
		} else if !claim() {
			*handedOff = true // a waiter started the job itself (see await)
		} else {
			r.stats.asyncRejected.Add(int64(len(later)))
			for _, it := range later {
				r.observe(ctx, Event{Kind: EventAsyncRejected, Key: it.k})
				it.land(ctx, r, c, nil, nil, true)
			}
		}
	}
	if len(now) > 0 {
		landAll(ctx, r, c, now, createBatch(ctx, r, c, now, create, o, w))
	}
}

// recheck looks again at the items still to create, now that they are
// ours: another caller may have landed its flight between our lookup and our
// join, or another process may have made a value while we waited for its
// lock. Fresh ones are landed with what was found. It returns how the
// others are to be stored: with the tag versions read now, before their
// creator runs, or not at all when a tag is pending.
func recheck[V any](ctx context.Context, r *Region, c *config, items []*multiItem[V], o *callOptions) (write, error) {
	var open []*multiItem[V]
	for _, it := range items {
		if !it.landed {
			open = append(open, it)
		}
	}
	if len(open) == 0 {
		return write{}, nil
	}
	ks := make([]string, len(open))
	for i, it := range open {
		ks[i] = it.k
	}
	created := make([]time.Time, len(ks))
	vals, sts, states, err := lookupMulti[V](ctx, r, c, ks, o.forRecheck(), created)
	if err != nil {
		return write{}, err
	}
	w := write{tags: tagVersions(o.tags, states)}
	started := r.seq.Add(1)
	for i, it := range open {
		it.f.tags = w.tags // read with the entries: valid for what is found and what is made
		switch sts[i] {
		case fresh:
			if !o.refresh {
				// Found, not made: like fly, leave started at 0, so that
				// a tagged waiter judges the value by its tag versions,
				// and pass on its stored creation time, so that a waiter
				// that began after a hard invalidation does not take it.
				it.f.created = created[i]
				it.land(ctx, r, c, vals[i], nil, false)
				continue
			}
		case bypass:
			w.skip = true
		}
		it.f.started = started
	}
	return w, nil
}

// land releases the item's backend lock, if held, and lands its flight,
// once.
func (it *multiItem[V]) land(ctx context.Context, r *Region, c *config, val any, err error, retry bool) {
	if it.landed {
		return
	}
	it.landed = true
	if it.mu != nil {
		r.unlockBackend(ctx, c, it.k, it.mu)
		it.mu = nil
	}
	r.flights.land(it.k, it.f, val, err, retry)
}

// landAll lands, with err, the items createBatch did not land (all of them
// when it failed early, none when it succeeded).
func landAll[V any](ctx context.Context, r *Region, c *config, items []*multiItem[V], err error) {
	if err == nil {
		err = fmt.Errorf("region %q: internal error: creation of %q ended without a value", r.name, items[0].key)
	}
	for _, it := range items {
		it.land(ctx, r, c, nil, err, false)
	}
}

// createBatch calls the creator once for items, stores what it made and
// lands each item with its value.
func createBatch[V any](ctx context.Context, r *Region, c *config, items []*multiItem[V], create multiCreator[V], o *callOptions, w write) error {
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = it.key
	}
	created := r.clock.Now()
	start := time.Now()
	vals, present, err := callMultiCreator(ctx, keys, create)
	if err != nil {
		r.stats.createErrors.Add(1)
		r.observe(ctx, Event{Kind: EventCreateError, Key: items[0].k, Err: err, Duration: time.Since(start)})
		return err
	}
	r.stats.created.Add(1)
	r.observe(ctx, Event{Kind: EventCreated, Key: items[0].k, Duration: time.Since(start)})
	toStore := make([]backend.KeyedEntry, 0, len(items))
	for i, it := range items {
		if w.skip || (present != nil && !present[i]) {
			continue
		}
		if o.shouldCache != nil && !o.shouldCache(vals[i]) {
			continue
		}
		e, err := entryFor(c, vals[i], created)
		if err != nil {
			_ = r.backendError(ctx, c, it.k, err)
			continue
		}
		e.Meta.Tags = w.tags
		toStore = append(toStore, backend.KeyedEntry{Key: it.k, Entry: e})
	}
	if err := backend.SetMulti(ctx, c.backend, toStore, c.ttlFor(o)); err != nil {
		if err := r.backendError(ctx, c, "", err); err != nil {
			return err
		}
	}
	for i, it := range items {
		it.f.created = created
		if present != nil && !present[i] {
			it.land(ctx, r, c, absent{}, nil, false)
			continue
		}
		it.land(ctx, r, c, vals[i], nil, false)
	}
	return nil
}

func callMultiCreator[V any](ctx context.Context, keys []string, create multiCreator[V]) (vals []V, present []bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{Key: keys[0], Value: p, Stack: debug.Stack()}
		}
	}()
	vals, present, err = create(ctx, keys)
	if err == nil && (len(vals) != len(keys) || (present != nil && len(present) != len(keys))) {
		err = fmt.Errorf("%w: %d values for %d keys", ErrCreatorResult, len(vals), len(keys))
	}
	return vals, present, err
}
