package region

import (
	"context"
	"fmt"
	"reflect"
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
)

// lookup reads k from the backend and judges what it finds; when meta is
// not nil it receives the entry's metadata. A backend error is a miss
// unless the region is strict.
func lookup[V any](ctx context.Context, r *Region, c *config, k string, o *callOptions, meta *backend.Metadata) (V, state, error) {
	e, ok, err := c.backend.Get(ctx, k)
	if err != nil || !ok {
		var zero V
		if err != nil {
			err = r.backendError(ctx, c, k, err)
		}
		return zero, missing, err
	}
	if meta != nil {
		*meta = e.Meta
	}
	return judge[V](ctx, r, c, k, &e, o)
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
		if inv = c.invalidation.Invalidated(e.Meta.Created); inv == HardInvalidated {
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
		if exp := c.expirationFor(o); exp > 0 && r.nowNano()-e.Meta.Created.UnixNano() > int64(exp) {
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

// store writes v under k. It returns an error only when the region is
// strict; otherwise failures are counted and reported.
func store[V any](ctx context.Context, r *Region, c *config, k string, v V, created time.Time, o *callOptions) error {
	e, err := entryFor(c, v, created)
	if err == nil {
		err = backend.SetWithTTL(ctx, c.backend, k, e, c.ttlFor(o))
	}
	if err != nil {
		return r.backendError(ctx, c, k, err)
	}
	return nil
}

func (r *Region) hit(ctx context.Context, k string) {
	r.stats.hits.inc()
	if r.observer != nil {
		r.observe(ctx, Event{Kind: EventHit, Key: k})
	}
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
