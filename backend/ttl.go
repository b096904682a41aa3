package backend

import (
	"context"
	"time"
)

// TTLSetter is implemented by stores that can drop an entry by themselves
// after a time to live (Redis PX, memcached expiry, the memory store's
// per-entry expiry).
//
// The TTL is about storage, not freshness: a region decides whether a value
// is fresh from its creation time and the expiration in force, and keeps
// serving a stale value while one caller makes a new one. Give stored
// entries a TTL comfortably longer than the expiration so that the stale
// value is still there to serve.
//
// Without it, [SetWithTTL] calls Set and the entry stays until it is
// deleted, overwritten or evicted.
type TTLSetter interface {
	SetWithTTL(ctx context.Context, key string, e Entry, ttl time.Duration) error
}

// SetWithTTL writes e under key, asking b to drop it after ttl when ttl is
// above zero and b is a [TTLSetter].
func SetWithTTL(ctx context.Context, b Backend, key string, e Entry, ttl time.Duration) error {
	if ttl > 0 {
		if t, ok := b.(TTLSetter); ok {
			return t.SetWithTTL(ctx, key, e, ttl)
		}
	}
	return b.Set(ctx, key, e)
}
