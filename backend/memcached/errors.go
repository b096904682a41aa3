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

	// ErrTagContention is returned, wrapped with the tag, when a tag item
	// kept changing under a store's compare-and-swap (or its version kept
	// vanishing) for as many tries as the store makes: other clients edit
	// it faster than this one can. The caller may try again.
	ErrTagContention = errors.New("memcached: tag item kept changing under compare-and-swap")

	// ErrBadTagItem is returned, wrapped with the tag and the value, for a
	// tag's version or marks item that holds something this store did not
	// write there.
	ErrBadTagItem = errors.New("memcached: tag item holds a value of another format")
)
