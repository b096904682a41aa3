package region

import (
	"context"
	"time"

	"github.com/dogpile-go/dogpile/backend"
)

// Get returns the fresh value cached under key. ok is false when there is
// none: no value, an expired one, one invalidated since it was made, or
// one that cannot be decoded (pass [IgnoreExpiration] to get any stored
// value whatever its age). Get never creates anything.
func Get[V any](ctx context.Context, r *Region, key string, opts ...CallOption) (v V, ok bool, err error) {
	v, _, ok, err = GetValueMetadata[V](ctx, r, key, opts...)
	return v, ok, err
}

// GetValueMetadata is [Get] that also returns the value's metadata: when
// it was created, and its format version.
func GetValueMetadata[V any](ctx context.Context, r *Region, key string, opts ...CallOption) (V, backend.Metadata, bool, error) {
	c, err := r.configured()
	if err != nil {
		var zero V
		return zero, backend.Metadata{}, false, err
	}
	o := options(opts)
	k := c.mangle(key)
	var meta backend.Metadata
	v, st, err := lookup[V](ctx, r, c, k, o, &meta)
	if err != nil || st != fresh {
		var zero V
		if err == nil {
			r.miss(ctx, k)
		}
		return zero, backend.Metadata{}, false, err
	}
	r.hit(ctx, k)
	return v, meta, true, nil
}

// GetMulti returns the fresh values cached under keys, as [Get] judges
// them, in one backend round trip where the backend allows. Keys without
// one are absent from the map.
func GetMulti[V any](ctx context.Context, r *Region, keys []string, opts ...CallOption) (map[string]V, error) {
	c, err := r.configured()
	if err != nil {
		return nil, err
	}
	o := options(opts)
	mangled := mangleAll(c, keys)
	entries, err := backend.GetMulti(ctx, c.backend, mangled)
	if err != nil {
		return map[string]V{}, r.backendError(ctx, c, "", err)
	}
	out := make(map[string]V, len(keys))
	for i, e := range entries {
		if e.IsZero() {
			r.miss(ctx, mangled[i])
			continue
		}
		v, st, err := judge[V](ctx, r, c, mangled[i], &entries[i], o)
		if err != nil {
			return nil, err
		}
		if st != fresh {
			r.miss(ctx, mangled[i])
			continue
		}
		r.hit(ctx, mangled[i])
		out[keys[i]] = v
	}
	return out, nil
}

// Set stores v under key as a value created now, whatever was there. A
// backend failure is returned even when the region is not strict: the
// caller asked for the write.
func Set[V any](ctx context.Context, r *Region, key string, v V, opts ...CallOption) error {
	c, err := r.configured()
	if err != nil {
		return err
	}
	return set(ctx, r, c, c.mangle(key), v, options(opts))
}

func set[V any](ctx context.Context, r *Region, c *config, k string, v V, o *callOptions) error {
	e, err := entryFor(c, v, r.clock.Now())
	if err != nil {
		return err // a value that cannot be encoded is the caller's error
	}
	if err := backend.SetWithTTL(ctx, c.backend, k, e, c.ttlFor(o)); err != nil {
		return r.writeError(ctx, c, k, err)
	}
	return nil
}

// SetMulti stores several values at once, all created now, in one backend
// round trip where the backend allows.
func SetMulti[V any](ctx context.Context, r *Region, values map[string]V, opts ...CallOption) error {
	c, err := r.configured()
	if err != nil {
		return err
	}
	return setMulti(ctx, r, c, values, r.clock.Now(), options(opts))
}

func setMulti[V any](ctx context.Context, r *Region, c *config, values map[string]V, created time.Time, o *callOptions) error {
	if len(values) == 0 {
		return nil
	}
	entries := make([]backend.KeyedEntry, 0, len(values))
	for key, v := range values {
		e, err := entryFor(c, v, created)
		if err != nil {
			return err
		}
		entries = append(entries, backend.KeyedEntry{Key: c.mangle(key), Entry: e})
	}
	if err := backend.SetMulti(ctx, c.backend, entries, c.ttlFor(o)); err != nil {
		return r.writeError(ctx, c, "", err)
	}
	return nil
}

// Delete removes the value cached under key. Deleting a missing key is not
// an error.
func (r *Region) Delete(ctx context.Context, key string) error {
	c, err := r.configured()
	if err != nil {
		return err
	}
	k := c.mangle(key)
	if err := c.backend.Delete(ctx, k); err != nil {
		return r.writeError(ctx, c, k, err)
	}
	return nil
}

// DeleteMulti removes the values cached under keys, in one backend round
// trip where the backend allows.
func (r *Region) DeleteMulti(ctx context.Context, keys []string) error {
	c, err := r.configured()
	if err != nil {
		return err
	}
	if err := backend.DeleteMulti(ctx, c.backend, mangleAll(c, keys)); err != nil {
		return r.writeError(ctx, c, "", err)
	}
	return nil
}

// writeError reports a failed Set or Delete. Unlike the reads and the
// writes the region makes on its own, these are always returned: the caller
// asked for a value to be stored or gone, and it may not be.
func (r *Region) writeError(ctx context.Context, c *config, k string, err error) error {
	if serr := r.backendError(ctx, c, k, err); serr != nil {
		return serr
	}
	return err
}

func mangleAll(c *config, keys []string) []string {
	if c.mangler == nil {
		return keys
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = c.mangler(k)
	}
	return out
}
