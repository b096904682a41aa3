package redis

// KeyPrefix returns a store's key prefix, for tests.
func KeyPrefix(s *Store) string { return s.o.KeyPrefix }
