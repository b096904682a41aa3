package memcached

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/dogpile-go/dogpile/backend"
)

// Mutex returns a new, unlocked creation lock for key (a key as the region
// gives it, mangled), or nil when the lock is turned off
// ([Options.DisableLock]).
//
// The lock is a memcached item, "_lock" + key under the key prefix, taken
// with add (which succeeds only when the item does not exist) and holding
// the handle's owner token, a random string drawn when the handle is made.
// It expires after the lock timeout, so a crashed holder frees it; a live
// holder renews it every third of the timeout, with gets and a
// compare-and-swap that succeeds only while the item is still the one it
// added; and Unlock releases it the same way, by swapping it for an item
// that expires at once, so a handle never releases a lock it does not own.
func (s *Store) Mutex(key string) backend.Mutex {
	if !s.lock.enabled {
		return nil
	}
	var b [16]byte
	_, _ = crand.Read(b[:]) // never fails (crypto/rand panics rather)
	return &Mutex{s: s, key: key, item: s.lockKey(key), token: hex.EncodeToString(b[:])}
}

// lockKey is the server key of key's lock item. A key that would make an
// illegal lock key (mangling is off) is replaced by its SHA-1 there, so
// that the lock works whatever the data key.
func (s *Store) lockKey(key string) string {
	lk := s.prefix + lockAffix + key
	if key == "" || len(lk) > maxKeyLen || !legalKey(key) || strings.HasPrefix(key, manglePrefix) {
		lk = s.prefix + lockAffix + manglePrefix + backend.SHA1KeyMangler(key)
	}
	return lk
}

// Locked reports whether key's creation lock is held by anyone.
func (s *Store) Locked(ctx context.Context, key string) (bool, error) {
	if err := s.ready(ctx); err != nil {
		return false, err
	}
	err := s.retryStale(func() error { _, err := s.client.Get(s.lockKey(key)); return err })
	switch {
	case errors.Is(err, memcache.ErrCacheMiss):
		return false, nil
	case err != nil:
		return false, s.opError("get lock", key, err)
	}
	return true, nil
}

// Mutex is a handle on one key's creation lock in memcached (see
// [Store.Mutex]). It is used by one goroutine at a time, as
// [backend.Mutex] requires; its renewal runs in a goroutine of its own.
type Mutex struct {
	s     *Store
	key   string // the key, for messages
	item  string // the lock item's server key
	token string // this handle's owner token, the lock item's value

	mu    sync.Mutex
	held  bool          // guarded by mu: this handle took the lock and has not released it
	stop  chan struct{} // guarded by mu: closed to stop the renewal
	ended chan struct{} // guarded by mu: closed when the renewal has stopped
}

// TryLock takes the lock if no one holds it.
func (m *Mutex) TryLock(ctx context.Context) (bool, error) {
	if err := m.s.ready(ctx); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.held {
		return false, fmt.Errorf("memcached: creation lock of %q: TryLock on a handle that already holds it", m.key)
	}
	item := &memcache.Item{Key: m.item, Value: []byte(m.token), Expiration: m.s.lock.seconds}
	tried := false
	err := m.s.retryStale(func() error {
		err := m.s.client.Add(item)
		if tried && errors.Is(err, memcache.ErrNotStored) {
			// An earlier try may have reached the server before its
			// connection broke: look whose the item is.
			if it, gerr := m.s.client.Get(m.item); gerr == nil && string(it.Value) == m.token {
				return nil
			}
		}
		tried = true
		return err
	})
	switch {
	case errors.Is(err, memcache.ErrNotStored):
		return false, nil
	case err != nil:
		return false, m.s.opError("add lock", m.key, err)
	}
	m.held = true
	m.s.renewMu.Lock()
	defer m.s.renewMu.Unlock()
	if !m.s.closed.Load() { // a closing store renews nothing
		m.stop, m.ended = make(chan struct{}), make(chan struct{})
		m.s.renewals.Add(1)
		go m.renew(m.stop, m.ended)
	}
	return true, nil
}

// Lock takes the lock, waiting while another owner holds it: it tries
// again after a pause that starts at [Options.LockWait] and doubles, with
// jitter, up to [Options.LockWaitMax]. It gives up when ctx ends (with
// ctx's error) or after [Options.LockBlockingTimeout] (with an error
// wrapping [backend.ErrLockTimeout]), and returns at once the error of an
// attempt that failed (the server is down), for the region to carry on
// without the lock.
func (m *Mutex) Lock(ctx context.Context) error {
	lc := m.s.lock
	var deadline time.Time
	if lc.blockWait > 0 {
		deadline = time.Now().Add(lc.blockWait)
	}
	pause := lc.wait
	timer := time.NewTimer(0)
	<-timer.C
	defer timer.Stop()
	for {
		ok, err := m.TryLock(ctx)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		// Full jitter in [pause/2, pause], so waiters spread out.
		d := pause/2 + rand.N(pause/2+1)
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				return fmt.Errorf("%w: memcached creation lock of %q still held by another owner after %v (lock_blocking_timeout)", backend.ErrLockTimeout, m.key, lc.blockWait)
			}
			d = min(d, left)
		}
		timer.Reset(d)
		select {
		case <-timer.C:
		case <-ctx.Done():
			return fmt.Errorf("memcached: waiting for the creation lock of %q: %w", m.key, ctx.Err())
		case <-m.s.done:
			return backend.ErrClosed
		}
		pause = min(pause*2, lc.waitMax)
	}
}

// Unlock stops the renewal and releases the lock if this handle still
// owns it: it reads the lock item with its CAS id, checks that it holds
// this handle's token, and swaps it, by that CAS id, for an item that
// expires at once. If the item is gone or holds another token (the lock
// expired and another owner took it), it returns an error wrapping
// [backend.ErrLockNotHeld] and leaves the item alone. If the server cannot
// be reached it returns that error, and the lock expires after its timeout.
func (m *Mutex) Unlock(_ context.Context) error {
	// The context is not looked at: a release is worth trying even for a
	// caller whose context ended, and each call is bounded by the client's
	// timeout.
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.held {
		return fmt.Errorf("%w: memcached creation lock of %q: this handle does not hold it", backend.ErrLockNotHeld, m.key)
	}
	m.held = false
	m.stopRenewalLocked()
	if m.s.closed.Load() {
		return backend.ErrClosed
	}
	var it *memcache.Item
	err := m.s.retryStale(func() (err error) { it, err = m.s.client.Get(m.item); return err })
	switch {
	case errors.Is(err, memcache.ErrCacheMiss):
		return fmt.Errorf("%w: memcached creation lock of %q expired before it was released", backend.ErrLockNotHeld, m.key)
	case err != nil:
		return m.s.opError("get lock", m.key, err)
	case string(it.Value) != m.token:
		return fmt.Errorf("%w: memcached creation lock of %q expired and is now held by another owner", backend.ErrLockNotHeld, m.key)
	}
	it.Expiration = -1 // memcached drops an item with a negative expiry at once
	err = m.s.client.CompareAndSwap(it)
	switch {
	case errors.Is(err, memcache.ErrCASConflict), errors.Is(err, memcache.ErrNotStored), errors.Is(err, memcache.ErrCacheMiss):
		// A compare-and-swap of an item that expired meanwhile answers
		// NOT_FOUND, which gomemcache reports as a cache miss.
		return fmt.Errorf("%w: memcached creation lock of %q changed hands or expired while it was being released", backend.ErrLockNotHeld, m.key)
	case err != nil:
		return m.s.opError("release lock", m.key, err)
	}
	return nil
}

// stopRenewalLocked stops the renewal goroutine and waits for it to end,
// so that no renewal runs after (or races with) the release.
func (m *Mutex) stopRenewalLocked() {
	if m.stop == nil {
		return
	}
	close(m.stop)
	<-m.ended
	m.stop, m.ended = nil, nil
}

// renew extends the lock item's expiry every third of the lock timeout
// while this handle holds it, so a creator that runs longer than the
// timeout keeps its lock. It uses gets and a compare-and-swap, so it only
// ever extends an item that holds this handle's token; it stops when the
// item is gone or another owner's, when stop is closed, or when the store
// closes. A failed call (the server is unreachable) is tried again at the
// next tick: the item lives a whole timeout, so two failed renewals in a
// row still leave it in place.
func (m *Mutex) renew(stop <-chan struct{}, ended chan<- struct{}) {
	defer m.s.renewals.Done()
	defer close(ended)
	tick := time.NewTicker(m.s.lock.timeout / 3)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-m.s.done:
			return
		case <-tick.C:
		}
		var it *memcache.Item
		err := m.s.retryStale(func() (err error) { it, err = m.s.client.Get(m.item); return err })
		switch {
		case errors.Is(err, memcache.ErrCacheMiss):
			return // expired: the lock is lost
		case err != nil:
			continue
		case string(it.Value) != m.token:
			return // another owner's now
		}
		it.Expiration = m.s.lock.seconds
		if err := m.s.client.CompareAndSwap(it); errors.Is(err, memcache.ErrNotStored) || errors.Is(err, memcache.ErrCacheMiss) || errors.Is(err, memcache.ErrCASConflict) {
			return // expired, or changed hands, between the two calls
		}
	}
}

var (
	_ backend.Mutex = (*Mutex)(nil)
)
