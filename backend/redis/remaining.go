package redis

import (
	"context"
	"errors"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/backend"
)

// The reads in this file also return how long each entry has left to
// live in Redis, read with PTTL in the same round trip: a cache in front
// of the store (the tiered store's near tier) must not keep a copy longer
// than Redis keeps the entry.
//
// A remaining time is positive for an entry with a TTL, 0 for one without,
// and negative for an entry that expired between its GET and its PTTL (it
// was read, but Redis no longer holds it).

// GetWithTTL is [Store.Get] that also returns the entry's remaining time
// to live.
func (s *Store) GetWithTTL(ctx context.Context, key string) (backend.Entry, time.Duration, bool, error) {
	var (
		get  *goredis.StringCmd
		pttl *goredis.DurationCmd
	)
	_, _ = s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		get = p.Get(ctx, s.key(key))
		pttl = p.PTTL(ctx, s.key(key))
		return nil
	})
	e, ok, err := readEntry(get)
	if err != nil || !ok {
		return backend.Entry{}, 0, false, err
	}
	left, err := remaining(pttl)
	if err != nil {
		return backend.Entry{}, 0, false, err
	}
	return e, left, true, nil
}

// GetMultiWithTTL is [Store.GetMulti] that also returns each entry's
// remaining time to live (0 where missing), in one round trip (one per
// node on a Cluster).
func (s *Store) GetMultiWithTTL(ctx context.Context, keys []string) ([]backend.Entry, []time.Duration, error) {
	return s.getPipelined(ctx, keys, true)
}

// getPipelined reads keys with a pipeline of GETs (one round trip per
// node on a Cluster, which cannot MGET across slots), each followed by a
// PTTL when withTTL is set (lefts is nil otherwise).
func (s *Store) getPipelined(ctx context.Context, keys []string, withTTL bool) (out []backend.Entry, lefts []time.Duration, err error) {
	out = make([]backend.Entry, len(keys))
	if withTTL {
		lefts = make([]time.Duration, len(keys))
	}
	gets := make([]*goredis.StringCmd, len(keys))
	pttls := make([]*goredis.DurationCmd, len(keys))
	// Pipelined's error is only the first failed command's, which may be
	// a missing key's: each command is checked instead.
	_, _ = s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, k := range keys {
			gets[i] = p.Get(ctx, s.key(k))
			if withTTL {
				pttls[i] = p.PTTL(ctx, s.key(k))
			}
		}
		return nil
	})
	for i := range keys {
		e, ok, err := readEntry(gets[i])
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			continue
		}
		if withTTL {
			if lefts[i], err = remaining(pttls[i]); err != nil {
				return nil, nil, err
			}
		}
		out[i] = e
	}
	return out, lefts, nil
}

// GetTaggedWithTTL is [Store.GetTagged] that also returns the entry's
// remaining time to live.
func (s *Store) GetTaggedWithTTL(ctx context.Context, key string, tags []string) (backend.Entry, time.Duration, bool, []backend.TagState, error) {
	var pttl *goredis.DurationCmd
	e, ok, states, err := s.getTagged(ctx, key, tags, func(p goredis.Pipeliner) {
		pttl = p.PTTL(ctx, s.key(key))
	})
	if err != nil || !ok {
		return e, 0, ok, states, err
	}
	left, err := remaining(pttl)
	if err != nil {
		return backend.Entry{}, 0, false, nil, err
	}
	return e, left, true, states, nil
}

// readEntry decodes a GET's reply; a missing key or a value that is not a
// record is not found.
func readEntry(get *goredis.StringCmd) (backend.Entry, bool, error) {
	data, err := get.Bytes()
	switch {
	case errors.Is(err, goredis.Nil):
		return backend.Entry{}, false, nil
	case err != nil:
		return backend.Entry{}, false, err
	}
	return decode(data)
}

// remaining reads a PTTL's reply as a remaining time to live (see above).
func remaining(pttl *goredis.DurationCmd) (time.Duration, error) {
	d, err := pttl.Result()
	switch {
	case err != nil:
		return 0, err
	case d == -1: // no TTL (go-redis passes -1 and -2 through as nanoseconds)
		return 0, nil
	case d < 0: // -2: gone
		return -1, nil
	case d == 0: // under a millisecond left
		return -1, nil
	}
	return d, nil
}
