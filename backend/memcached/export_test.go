package memcached

import (
	"errors"
	"net"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

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

// TagVersionKey returns the key of tag's version item.
func (s *Store) TagVersionKey(tag string) string { return s.tagKey(tagVersionAffix, tag) }

// TagMarksKey returns the key of tag's marks item.
func (s *Store) TagMarksKey(tag string) string { return s.tagKey(tagMarksAffix, tag) }

// ForgetTag deletes tag's version item, as an eviction would.
func (s *Store) ForgetTag(tag string) error {
	err := s.client.Delete(s.TagVersionKey(tag))
	if errors.Is(err, memcache.ErrCacheMiss) {
		return nil
	}
	return err
}

// PickServer returns the server the store's client sends key to.
func PickServer(servers []string, prefix, key string) (net.Addr, error) {
	var sl memcache.ServerList
	if err := sl.SetServers(servers...); err != nil {
		return nil, err
	}
	return tagSelector{ServerList: &sl, tagPrefix: prefix + tagAffix}.PickServer(key)
}
