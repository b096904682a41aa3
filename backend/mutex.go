package backend

import "context"

// Locker is implemented by stores that offer a per-key creation lock that
// holds across processes (Redis SET NX PX with an owner token, memcached add,
// a lock file). The region takes it, after its own in-process lock, before it
// runs a creator, so that one process at a time creates a given key.
//
// Mutex returns a new, unlocked handle for key, or nil when the store offers
// no such lock after all (a proxy over a store without one returns nil).
//
// Without it the region's lock is in-process only: one creator per key per
// process.
type Locker interface {
	Mutex(key string) Mutex
}

// Mutex is a creation lock for one key that may span processes. A handle is
// used by one goroutine at a time: Lock or TryLock, then Unlock.
//
// An implementation bounds how long a crashed holder can keep the lock (a
// lock timeout) and keeps the lock of a live holder for as long as it holds
// it (renewal), so a slow creator does not lose its lock.
type Mutex interface {
	// Lock blocks until the lock is taken, ctx is done, or the store's own
	// wait limit passes ([ErrLockTimeout]).
	Lock(ctx context.Context) error
	// TryLock takes the lock if it is free, without waiting.
	TryLock(ctx context.Context) (bool, error)
	// Unlock releases the lock if this handle still owns it. It returns
	// [ErrLockNotHeld] when it did not (it expired and another owner may
	// have it); the lock is not released on anyone else's behalf.
	Unlock(ctx context.Context) error
}

// LockInspector is implemented by stores whose creation lock can be looked
// at from outside, for [region.Region.KeyIsLocked] across processes.
//
// Without it, only the in-process lock is reported.
type LockInspector interface {
	Locked(ctx context.Context, key string) (bool, error)
}

// MutexFor returns b's cross-process mutex for key, or nil when b has none.
func MutexFor(b Backend, key string) Mutex {
	if l, ok := b.(Locker); ok {
		return l.Mutex(key)
	}
	return nil
}

// IsLocked reports whether b's cross-process lock for key is held, and false
// when b cannot tell.
func IsLocked(ctx context.Context, b Backend, key string) (bool, error) {
	if li, ok := b.(LockInspector); ok {
		return li.Locked(ctx, key)
	}
	return false, nil
}
