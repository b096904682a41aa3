package region

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/dogpile-go/dogpile/backend"
)

// state is what a lookup found.
type state uint8

const (
	// missing: nothing usable (none, another format version,
	// hard-invalidated, undecodable): callers wait for a creation.
	missing state = iota
	// stale: expired or soft-invalidated: served while one caller creates.
	stale
	// fresh: returned as it is.
	fresh
	// bypass: the call is tagged and a tag is pending (or its state could
	// not be read): no cached value may be served or stored; callers call
	// the creator, still one per key in the process.
	bypass
)

// lookupInfo receives what a lookup learnt besides the value.
type lookupInfo struct {
	meta   backend.Metadata   // the entry's metadata, when one was found
	states []backend.TagState // the states of the call's tags, read with the entry
}

// lookup reads k from the backend and judges what it finds; when info is
// not nil it receives the entry's metadata and the tag states. A backend
// error is a miss (or, for a tagged call, a bypass) unless the region is
// strict.
func lookup[V any](ctx context.Context, r *Region, c *config, k string, o *callOptions, info *lookupInfo) (V, state, error) {
	var zero V
	if len(o.tags) > 0 {
		return lookupTagged[V](ctx, r, c, k, o, info)
	}
	if c.reader != nil {
		// An in-process store hands out its entry itself: no copy.
		ep, ok := c.reader.GetEntry(ctx, k)
		if !ok {
			return zero, missing, nil
		}
		return judgeStored[V](ctx, r, c, k, ep, o, info)
	}
	e, ok, err := c.backend.Get(ctx, k)
	if err != nil || !ok {
		if err != nil {
			err = r.backendError(ctx, c, k, err)
		}
		return zero, missing, err
	}
	return judgeStored[V](ctx, r, c, k, &e, o, info)
}

// judgeStored is judge for an entry an untagged call read.
func judgeStored[V any](ctx context.Context, r *Region, c *config, k string, e *backend.Entry, o *callOptions, info *lookupInfo) (V, state, error) {
	if len(e.Meta.Tags) > 0 && !r.recordedTagsCurrent(ctx, c, e.Meta.Tags) {
		// A tagged entry read by an untagged call is still checked against
		// its tags, so that no path serves a value its tags invalidated.
		var zero V
		return zero, missing, nil
	}
	if info != nil {
		info.meta = e.Meta
	}
	return judge[V](ctx, r, c, k, e, o)
}

// recordedTagsCurrent reports whether the tag versions an entry recorded
// are all current and none is pending; a store that cannot tell (no tag
// versions, an error) says no.
func (r *Region) recordedTagsCurrent(ctx context.Context, c *config, recorded []backend.TagVersion) bool {
	names := make([]string, len(recorded))
	for i, tv := range recorded {
		names[i] = tv.Tag
	}
	states, ok := r.tagStates(ctx, c, names)
	return ok && backend.TagsMatch(recorded, names, states)
}

// tagStates reads the states of tags; ok is false when the store cannot
// tell (no tag versions, an error), which makes every entry stale.
func (r *Region) tagStates(ctx context.Context, c *config, tags []string) (states []backend.TagState, ok bool) {
	ts, err := backend.TagStoreOf(c.backend)
	if err != nil {
		return nil, false
	}
	states, err = ts.TagStates(ctx, tags)
	if err != nil {
		_ = r.backendError(ctx, c, "", err)
		return nil, false
	}
	return states, true
}

// tagsCurrent reports whether recorded versions are current by the states
// of names (sorted, without repeats), which hold every tag they name.
func tagsCurrent(names []string, states []backend.TagState, recorded []backend.TagVersion) bool {
	for _, tv := range recorded {
		i, ok := slices.BinarySearch(names, tv.Tag)
		if !ok || i >= len(states) || states[i].Pending || states[i].Version != tv.Version {
			return false
		}
	}
	return true
}

// lookupTagged is lookup for a tagged call: the entry and the states of its
// tags come back together, and the entry counts only if its recorded tag
// versions are the current ones.
func lookupTagged[V any](ctx context.Context, r *Region, c *config, k string, o *callOptions, info *lookupInfo) (V, state, error) {
	var zero V
	e, ok, states, err := backend.GetTagged(ctx, c.backend, k, o.tags)
	if err != nil {
		if errors.Is(err, backend.ErrNoTagStore) {
			return zero, missing, fmt.Errorf("region %q: tagged call: %w", r.name, err)
		}
		// Tags that cannot be read cannot validate anything.
		return zero, bypass, r.backendError(ctx, c, k, err)
	}
	if info != nil {
		info.states = states
		info.meta = e.Meta
	}
	switch {
	case backend.AnyPending(states):
		return zero, bypass, nil
	case !ok, !backend.TagsMatch(e.Meta.Tags, o.tags, states):
		return zero, missing, nil
	}
	return judge[V](ctx, r, c, k, &e, o)
}

// lookupMulti reads many keys (already mangled) and judges each, in one
// backend round trip where the backend allows, plus one for the states of
// a tagged call's tags, which it returns. When created is not nil (one
// slot per key) it receives the stored creation time of each entry judged.
// A backend failure makes every key missing (bypassed, for a tagged call)
// unless the region is strict.
func lookupMulti[V any](ctx context.Context, r *Region, c *config, ks []string, o *callOptions, created []time.Time) ([]V, []state, []backend.TagState, error) {
	vals := make([]V, len(ks))
	sts := make([]state, len(ks))
	var states []backend.TagState
	if len(o.tags) > 0 {
		ts, err := backend.TagStoreOf(c.backend)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("region %q: tagged call: %w", r.name, err)
		}
		// The states are read before the entries: an entry written after
		// a bump that this read missed records the new versions, and does
		// not match the old ones, so the race only costs a miss.
		states, err = ts.TagStates(ctx, o.tags)
		if err != nil {
			for i := range sts {
				sts[i] = bypass
			}
			return vals, sts, nil, r.backendError(ctx, c, "", err)
		}
		if backend.AnyPending(states) {
			for i := range sts {
				sts[i] = bypass
			}
			return vals, sts, states, nil
		}
	}
	entries, err := backend.GetMulti(ctx, c.backend, ks)
	if err != nil {
		return vals, sts, states, r.backendError(ctx, c, "", err)
	}
	// Tagged entries read by an untagged call (see lookup) are checked
	// against their tags' states, read for all of them at once.
	var names []string // the tags of tagged entries, and their states
	var current []backend.TagState
	currentOK := false
	if states == nil {
		for i := range entries {
			for _, tv := range entries[i].Meta.Tags {
				names = append(names, tv.Tag)
			}
		}
		if len(names) > 0 {
			slices.Sort(names)
			names = slices.Compact(names)
			current, currentOK = r.tagStates(ctx, c, names)
		}
	}
	for i := range entries {
		e := &entries[i]
		switch {
		case e.IsZero():
			continue // missing
		case states != nil:
			if !backend.TagsMatch(e.Meta.Tags, o.tags, states) {
				continue
			}
		case len(e.Meta.Tags) > 0:
			if !currentOK || !tagsCurrent(names, current, e.Meta.Tags) {
				continue
			}
		}
		if vals[i], sts[i], err = judge[V](ctx, r, c, ks[i], e, o); err != nil {
			return nil, nil, nil, err
		}
		if created != nil {
			created[i] = e.Meta.Created
		}
	}
	return vals, sts, states, nil
}

// fresh judges a creation time (Unix nanoseconds) on the fast hit paths
// (GetOrCreate and tryFastHit): for created >= 0 it is exactly
// invalidatedAt(created, hard, soft) == NotInvalidated && !expired(now,
// created, c.expiration) with the local invalidation's times, and it errs
// only towards false (a value created before 1970 is left to the general
// path). It inlines; a check of the whole entry would not, and a call
// costs a hit a nanosecond.
func (c *config) fresh(created, now int64) bool {
	return created >= c.local.hard.Load() && created >= c.local.soft.Load() && !expired(now, created, c.expiration)
}

// judge decides whether a stored entry is fresh, stale or as good as
// missing, and decodes its value when it is usable. It takes the entry by
// pointer: it is on the hot path of every hit, and an entry is 72 bytes.
func judge[V any](ctx context.Context, r *Region, c *config, k string, e *backend.Entry, o *callOptions) (V, state, error) {
	var zero V
	if e.Meta.Version != valueVersion {
		return zero, missing, nil
	}
	inv := NotInvalidated
	if !o.ignoreExpiration {
		if c.local != nil {
			inv = c.local.Invalidated(e.Meta.Created)
		} else {
			inv = c.invalidation.Invalidated(e.Meta.Created)
		}
		if inv == HardInvalidated {
			return zero, missing, nil
		}
	}
	var (
		v   V
		err error
	)
	if c.serializer == nil {
		v, err = fromValue[V](k, e.Value)
		if err != nil {
			return zero, missing, err
		}
	} else {
		v, err = unmarshal[V](c.serializer, e.Data)
		if err != nil {
			if !o.recheck {
				r.stats.decodeErrs.Add(1)
				r.observe(ctx, Event{Kind: EventDecodeError, Key: k, Err: err})
			}
			return zero, missing, nil
		}
	}
	st := fresh
	switch {
	case o.ignoreExpiration:
	case inv == SoftInvalidated:
		st = stale
	default:
		if expired(r.nowNano(), e.Meta.Created.UnixNano(), c.expirationFor(o)) {
			st = stale
		}
	}
	return v, st, nil
}

// fromValue asserts a stored Go value to V. It is apart from unmarshal so
// that the object path never takes the address of a V, which would move it
// to the heap on every hit.
func fromValue[V any](k string, stored any) (V, error) {
	if stored == nil {
		// A nil interface value was stored (V is an interface type).
		var zero V
		return zero, nil
	}
	v, ok := stored.(V)
	if !ok {
		return v, typeMismatch[V](k, stored)
	}
	return v, nil
}

func unmarshal[V any](s backend.Serializer, data []byte) (V, error) {
	var v V
	err := s.Unmarshal(data, &v)
	return v, err
}

func typeMismatch[V any](k string, got any) error {
	return fmt.Errorf("%w: key %q holds a %T, asked for a %v", ErrTypeMismatch, k, got, reflect.TypeFor[V]())
}

// entryFor makes the entry that stores v, created at created.
func entryFor[V any](c *config, v V, created time.Time) (backend.Entry, error) {
	e := backend.Entry{Meta: backend.Metadata{Created: created, Version: valueVersion}}
	if c.serializer == nil {
		e.Value = v
		return e, nil
	}
	data, err := c.serializer.Marshal(v)
	if err != nil {
		return e, fmt.Errorf("encoding a %v: %w", reflect.TypeFor[V](), err)
	}
	e.Data = data
	return e, nil
}

// tagVersions pairs the call's tags with the states read before a value
// was made, for the entry's metadata.
func tagVersions(tags []string, states []backend.TagState) []backend.TagVersion {
	if len(tags) == 0 || len(states) != len(tags) {
		return nil
	}
	out := make([]backend.TagVersion, len(tags))
	for i, t := range tags {
		out[i] = backend.TagVersion{Tag: t, Version: states[i].Version}
	}
	return out
}

// store writes v under k, with the tag versions read before it was made.
// It returns an error only when the region is strict; otherwise failures are
// counted and reported.
func store[V any](ctx context.Context, r *Region, c *config, k string, v V, created time.Time, tags []backend.TagVersion, o *callOptions) error {
	e, err := entryFor(c, v, created)
	e.Meta.Tags = tags
	if err == nil {
		err = backend.SetWithTTL(ctx, c.backend, k, e, c.ttlFor(o))
	}
	if err != nil {
		return r.backendError(ctx, c, k, err)
	}
	return nil
}

// hit counts a hit and reports it to the observer.
func (r *Region) hit(ctx context.Context, k string) {
	r.stats.hits.inc()
	if r.observer != nil {
		r.observeKey(ctx, EventHit, k)
	}
}

// observeKey reports an event of kind about key k to the observer.
//
//go:noinline
func (r *Region) observeKey(ctx context.Context, kind EventKind, k string) {
	r.observe(ctx, Event{Kind: kind, Key: k})
}

func (r *Region) miss(ctx context.Context, k string) {
	r.stats.misses.inc()
	if r.observer != nil {
		r.observe(ctx, Event{Kind: EventMiss, Key: k})
	}
}

func (r *Region) staleServed(ctx context.Context, k string) {
	r.stats.stale.inc()
	if r.observer != nil {
		r.observe(ctx, Event{Kind: EventStaleServed, Key: k})
	}
}
