package memory

import "time"

// ExpiresAfter reports how long until the store drops key, for tests of TTLs.
func (s *Store) ExpiresAfter(key string) (time.Duration, bool) {
	e, ok := s.cache.GetEntryQuietly(key)
	if !ok {
		return 0, false
	}
	return e.ExpiresAfter(), true
}

// CleanUp runs the cache's pending maintenance (eviction), for tests of bounds.
func (s *Store) CleanUp() { s.cache.CleanUp() }
