package memcached

import "errors"

var (
	// ErrBadKey is returned, wrapped with the key, for a key memcached
	// cannot take (longer than 250 bytes with the key prefix, or holding
	// spaces or control characters) when key mangling is turned off
	// ([Options.DisableKeyMangling]); with mangling on, the region never
	// sends one.
	ErrBadKey = errors.New("memcached: key that memcached cannot store")

	// ErrTooLarge is returned, wrapped with the key and the size, when the
	// server refuses a value as larger than its item size limit
	// (memcached -I, 1 MiB by default).
	ErrTooLarge = errors.New("memcached: value larger than the server's item size limit")
)
