package region

import (
	"context"
	"fmt"
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
	o, err := r.resolved(c, options(opts))
	if err != nil {
		var zero V
		return zero, backend.Metadata{}, false, err
	}
	k := c.mangle(key)
	var info lookupInfo
	v, st, err := lookup[V](ctx, r, c, k, o, &info)
	if err != nil || st != fresh {
		var zero V
		if err == nil {
			r.miss(ctx, k)
		}
		return zero, backend.Metadata{}, false, err
	}
	r.hit(ctx, k)
	return v, info.meta, true, nil
}

// GetMulti returns the fresh values cached under keys, as [Get] judges
// them, in one backend round trip where the backend allows. Keys without
// one are absent from the map.
func GetMulti[V any](ctx context.Context, r *Region, keys []string, opts ...CallOption) (map[string]V, error) {
	c, err := r.configured()
	if err != nil {
		return nil, err
	}
	o, err := r.resolved(c, options(opts))
	if err != nil {
		return nil, err
	}
	mangled := mangleAll(c, keys)
	vals, sts, _, err := lookupMulti[V](ctx, r, c, mangled, o, nil)
	if err != nil {
		return nil, err
	}
	out := make(map[string]V, len(keys))
	for i, st := range sts {
		if st != fresh {
			r.miss(ctx, mangled[i])
			continue
		}
		r.hit(ctx, mangled[i])
		out[keys[i]] = vals[i]
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
	tags, err := currentTagVersions(ctx, r, c, o)
	if err != nil {
		return err
	}
	e, err := entryFor(c, v, r.clock.Now())
	if err != nil {
		return err // a value that cannot be encoded is the caller's error
	}
	e.Meta.Tags = tags
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
	tags, err := currentTagVersions(ctx, r, c, o)
	if err != nil {
		return err
	}
	entries := make([]backend.KeyedEntry, 0, len(values))
	for key, v := range values {
		e, err := entryFor(c, v, created)
		if err != nil {
			return err
		}
		e.Meta.Tags = tags
		entries = append(entries, backend.KeyedEntry{Key: c.mangle(key), Entry: e})
	}
	if err := backend.SetMulti(ctx, c.backend, entries, c.ttlFor(o)); err != nil {
		return r.writeError(ctx, c, "", err)
	}
	return nil
}

// currentTagVersions reads the versions of a call's tags, for a value the
// caller stores itself. A tag's pending mark does not stop it: the value
// records the version from before the writer's bump, so the bump
// invalidates it.
func currentTagVersions(ctx context.Context, r *Region, c *config, o *callOptions) ([]backend.TagVersion, error) {
	if len(o.tags) == 0 {
		return nil, nil
	}
	ts, err := backend.TagStoreOf(c.backend)
	if err != nil {
		return nil, fmt.Errorf("region %q: tagged call: %w", r.name, err)
	}
	states, err := ts.TagStates(ctx, o.tags)
	if err != nil {
		return nil, r.writeError(ctx, c, "", err)
	}
	return tagVersions(o.tags, states), nil
}

// InvalidateTags invalidates, in every process that shares the backend,
// every value tagged with any of tags (see [WithTags]).
func (r *Region) InvalidateTags(ctx context.Context, tags ...string) error {
	c, err := r.configured()
	if err != nil {
		return err
	}
	ts, err := backend.TagStoreOf(c.backend)
	if err != nil {
		return fmt.Errorf("region %q: %w", r.name, err)
	}
	if err := ts.BumpTags(ctx, normalizeTags(tags)); err != nil {
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
