package backend

import (
	"context"
	"time"
)

// MultiGetter is implemented by stores that fetch many keys in one round
// trip. GetMulti returns one Entry per key, in the order of keys, with the
// zero Entry (see [Entry.IsZero]) for a key the store does not hold.
//
// Without it, [GetMulti] calls Get once per key.
type MultiGetter interface {
	GetMulti(ctx context.Context, keys []string) ([]Entry, error)
}

// MultiSetter is implemented by stores that write many entries in one round
// trip. SetMulti must not modify the slice it is given.
//
// Without it, [SetMulti] calls Set once per entry (or [TTLSetter.SetWithTTL]
// when a TTL is given and the store has it).
type MultiSetter interface {
	SetMulti(ctx context.Context, entries []KeyedEntry, ttl time.Duration) error
}

// MultiDeleter is implemented by stores that delete many keys in one round
// trip.
//
// Without it, [DeleteMulti] calls Delete once per key.
type MultiDeleter interface {
	DeleteMulti(ctx context.Context, keys []string) error
}

// KeyedEntry is an entry with the key it is stored under, for [SetMulti].
type KeyedEntry struct {
	Key   string
	Entry Entry
}

// GetMulti fetches keys from b, in one call when b is a [MultiGetter] and
// one Get per key otherwise. The result has one Entry per key, zero where
// the key is missing.
func GetMulti(ctx context.Context, b Backend, keys []string) ([]Entry, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	if m, ok := b.(MultiGetter); ok {
		return m.GetMulti(ctx, keys)
	}
	out := make([]Entry, len(keys))
	for i, k := range keys {
		e, ok, err := b.Get(ctx, k)
		if err != nil {
			return nil, err
		}
		if ok {
			out[i] = e
		}
	}
	return out, nil
}

// SetMulti writes entries to b, in one call when b is a [MultiSetter] and
// one write per entry otherwise. A ttl above zero asks the store to drop
// the entries after that long, where it can (see [TTLSetter]).
func SetMulti(ctx context.Context, b Backend, entries []KeyedEntry, ttl time.Duration) error {
	if len(entries) == 0 {
		return nil
	}
	if m, ok := b.(MultiSetter); ok {
		return m.SetMulti(ctx, entries, ttl)
	}
	for _, ke := range entries {
		if err := SetWithTTL(ctx, b, ke.Key, ke.Entry, ttl); err != nil {
			return err
		}
	}
	return nil
}

// DeleteMulti deletes keys from b, in one call when b is a [MultiDeleter]
// and one Delete per key otherwise.
func DeleteMulti(ctx context.Context, b Backend, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	if m, ok := b.(MultiDeleter); ok {
		return m.DeleteMulti(ctx, keys)
	}
	for _, k := range keys {
		if err := b.Delete(ctx, k); err != nil {
			return err
		}
	}
	return nil
}
