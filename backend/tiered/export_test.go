package tiered

import "context"

// SetMessageHook makes s call fn after applying each message from another
// process.
func SetMessageHook(s *Store, fn func(kind byte, items []string)) {
	if fn == nil {
		s.sub.hook.Store(nil)
		return
	}
	s.sub.hook.Store(&fn)
}

// PublishKeys publishes an invalidation of keys from s, as a write does.
func PublishKeys(ctx context.Context, s *Store, keys ...string) error {
	return s.publish(ctx, kindKeys, keys)
}

// NearHas reports whether s's near tier holds key.
func NearHas(s *Store, key string) bool {
	_, ok, _ := s.near.Get(context.Background(), key)
	return ok
}

// KeyPrefix returns the key prefix of the Redis options s was made with.
func KeyPrefix(s *Store) string { return s.o.Redis.KeyPrefix }

// Message kinds, for hooks.
const (
	KindKeys = kindKeys
	KindTags = kindTags
)
