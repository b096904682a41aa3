package redis

// KeyPrefix returns a store's key prefix, for tests.
func KeyPrefix(s *Store) string { return s.o.KeyPrefix }

// VersionKey returns the key of a tag's version, for tests.
func VersionKey(s *Store, tag string) string { return s.versionKey(tag) }
