package backend

import "errors"

var (
	// ErrLockTimeout is returned by [Mutex.Lock] when the store's wait
	// limit for a creation lock passed before the lock was free.
	ErrLockTimeout = errors.New("backend: timed out waiting for the creation lock")

	// ErrLockNotHeld is returned by [Mutex.Unlock] when the handle no longer
	// owns the lock: it expired, and it is left to whoever holds it now.
	ErrLockNotHeld = errors.New("backend: creation lock is not held by this owner")

	// ErrUnknownBackend is returned by [Open] for a name nobody registered.
	ErrUnknownBackend = errors.New("backend: unknown backend name")

	// ErrBadArgument is returned, wrapped with the argument's name and
	// value, when a backend's arguments are invalid.
	ErrBadArgument = errors.New("backend: invalid argument")

	// ErrBadRecord is returned by [UnmarshalRecord] for bytes that are not
	// a record of a format this build reads.
	ErrBadRecord = errors.New("backend: not a cache record of a known format")

	// ErrNoTagStore is returned for a tagged operation on a store that
	// keeps no tag versions (see [TagStore]).
	ErrNoTagStore = errors.New("backend: store keeps no tag versions")

	// ErrBreakerOpen is returned by a [Breaker] that stopped calling its
	// store for a while after repeated failures.
	ErrBreakerOpen = errors.New("backend: store skipped after repeated failures (breaker open)")

	// ErrClosed is returned by a store that has been closed.
	ErrClosed = errors.New("backend: closed")
)
