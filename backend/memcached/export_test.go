package memcached

import (
	"time"

	"github.com/dogpile-go/dogpile/backend"
)

// Expiry exposes expiry, for tests of the TTL conversion.
var Expiry = expiry

// ServerKey returns the key the server holds key's entry under.
func (s *Store) ServerKey(key string) string { return s.prefix + key }

// LockItemKey returns the key the server holds key's lock item under.
func (s *Store) LockItemKey(key string) string { return s.lockKey(key) }

// SetNow replaces the wall clock used for absolute expiry times.
func (s *Store) SetNow(now func() time.Time) { s.now = now }

// AbandonLock stops the renewal of a held lock without releasing it, as a
// holder whose process died would.
func AbandonLock(m backend.Mutex) {
	mm := m.(*Mutex)
	mm.mu.Lock()
	defer mm.mu.Unlock()
	mm.stopRenewalLocked()
}
