package memcached

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/clock"
	"github.com/dogpile-go/dogpile/serializer"
)

// Options configure a [Store]. The zero value of every field but Servers
// means its default.
type Options struct {
	// Servers lists the memcached servers as host:port (or a Unix socket
	// path); keys are spread over them by hash. Required.
	Servers []string

	// KeyPrefix is put in front of every key the store sends to the
	// server, data and lock keys alike, so that several applications can
	// share servers. It must be printable ASCII without spaces, and at
	// most 200 bytes. Default: none.
	KeyPrefix string

	// DisableKeyMangling makes [Store.KeyMangler] return nil, so that keys
	// reach the server as the region gives them; a key memcached cannot
	// take is then an error wrapping [ErrBadKey]. Default: keys longer than
	// the server allows, or holding spaces, control characters or bytes
	// outside ASCII, are replaced by "sha1:" and their SHA-1.
	DisableKeyMangling bool

	// Expiration is the TTL of entries written without one (Set, and
	// SetMulti with no TTL): dogpile's memcached_expire_time. Default: none;
	// such entries stay until memcached evicts them.
	Expiration time.Duration

	// Timeout bounds each network step of a call (connecting, each write
	// and each read) on every server. The client takes no context, so this
	// and not the caller's context is what bounds a call to a server that
	// does not answer. Default: 500ms.
	Timeout time.Duration

	// MaxIdleConns is how many idle connections the client keeps per
	// server; set it to the number of calls that run at once. Default: 16.
	MaxIdleConns int

	// Serializer is the serializer the store recommends to the region.
	// Default: [serializer.Default].
	Serializer backend.Serializer

	// DisableLock turns off the distributed creation lock ([Store.Mutex]
	// returns nil), leaving the region's in-process lock only: dogpile's
	// distributed_lock=False. Default: the lock is on.
	DisableLock bool

	// LockTimeout is how long a creation lock lasts when its holder stops
	// renewing it (it crashed, or lost the server): the expiry of the lock
	// item. A live holder renews it every LockTimeout/3 for as long as it
	// holds it. It is rounded up to whole seconds and must be at least 2s:
	// memcached's clock ticks once a second, so an item given 1 second may
	// expire at once. Default: 30s.
	LockTimeout time.Duration

	// LockWait is the first pause between attempts of [Mutex.Lock]; each
	// pause doubles, with jitter, up to LockWaitMax. Default: 10ms.
	LockWait time.Duration

	// LockWaitMax is the longest pause between attempts to take a lock.
	// Default: 250ms (and at least LockWait).
	LockWaitMax time.Duration

	// LockBlockingTimeout, when above zero, bounds how long Lock waits in
	// all; past it Lock returns an error wrapping [backend.ErrLockTimeout].
	// Default: no bound but the caller's context.
	LockBlockingTimeout time.Duration

	// Clock times the leases of pending tag marks ([Store.MarkPending]),
	// its only use: TTLs are counted by the server, and tag versions
	// start from the wall clock. Default: [clock.System].
	Clock clock.Clock
}

// Defaults of [Options].
const (
	DefaultTimeout      = 500 * time.Millisecond
	DefaultMaxIdleConns = 16
	DefaultLockTimeout  = 30 * time.Second
	DefaultLockWait     = 10 * time.Millisecond
	DefaultLockWaitMax  = 250 * time.Millisecond

	// MinLockTimeout is the shortest LockTimeout memcached's one-second
	// clock can honour.
	MinLockTimeout = 2 * time.Second
)

// memcached's limit on key length, in bytes.
const maxKeyLen = 250

// lockAffix goes between the key prefix and the key of a lock item, as in
// dogpile ("_lock" + key).
const lockAffix = "_lock"

// manglePrefix marks keys replaced by their SHA-1.
const manglePrefix = "sha1:"

// maxKeyPrefix leaves room after the key prefix for the lock affix (or a
// tag item's, as long) and a mangled key.
const maxKeyPrefix = maxKeyLen - len(lockAffix) - len(manglePrefix) - 40

// Store is a bytes store on memcached. It is safe for concurrent use by
// multiple goroutines.
type Store struct {
	client  *memcache.Client
	servers []string
	prefix  string
	mangler backend.KeyMangler // nil when mangling is off
	exp     time.Duration
	ser     backend.Serializer
	lock    lockConfig
	now     func() time.Time // wall clock for absolute expiry times and version starts
	clock   clock.Clock      // times the leases of pending tag marks

	tagSeen atomic.Uint64 // the highest tag version this store has read or written

	closed   atomic.Bool
	done     chan struct{}  // closed by Close: renewals stop
	renewMu  sync.Mutex     // orders starting a renewal with Close
	renewals sync.WaitGroup // running renewal goroutines; added to under renewMu
}

// lockConfig is the creation lock's settings; lock is off when !enabled.
type lockConfig struct {
	enabled   bool
	timeout   time.Duration // rounded up to whole seconds
	seconds   int32         // timeout, as memcached's expiry
	wait      time.Duration
	waitMax   time.Duration
	blockWait time.Duration // 0: no bound
}

// New makes a store for the servers in o. It does not connect: a server
// that is down shows as errors from the store's calls.
func New(o Options) (*Store, error) {
	if len(o.Servers) == 0 {
		return nil, fmt.Errorf("%w: memcached store needs at least one server (host:port) in Servers (argument \"url\")", backend.ErrBadArgument)
	}
	for _, s := range o.Servers {
		if strings.TrimSpace(s) == "" {
			return nil, fmt.Errorf("%w: memcached server list %q holds an empty address", backend.ErrBadArgument, o.Servers)
		}
	}
	if len(o.KeyPrefix) > maxKeyPrefix || !legalKey(o.KeyPrefix) {
		return nil, fmt.Errorf("%w: memcached key prefix %q: want at most %d bytes of printable ASCII without spaces", backend.ErrBadArgument, o.KeyPrefix, maxKeyPrefix)
	}
	for name, d := range map[string]time.Duration{
		"Expiration": o.Expiration, "Timeout": o.Timeout, "LockTimeout": o.LockTimeout,
		"LockWait": o.LockWait, "LockWaitMax": o.LockWaitMax, "LockBlockingTimeout": o.LockBlockingTimeout,
	} {
		if d < 0 {
			return nil, fmt.Errorf("%w: memcached %s is %v; it must not be negative", backend.ErrBadArgument, name, d)
		}
	}
	if o.MaxIdleConns < 0 {
		return nil, fmt.Errorf("%w: memcached MaxIdleConns is %d; it must not be negative", backend.ErrBadArgument, o.MaxIdleConns)
	}
	lc := lockConfig{
		enabled:   !o.DisableLock,
		timeout:   cmp.Or(o.LockTimeout, DefaultLockTimeout),
		wait:      cmp.Or(o.LockWait, DefaultLockWait),
		waitMax:   cmp.Or(o.LockWaitMax, DefaultLockWaitMax),
		blockWait: o.LockBlockingTimeout,
	}
	if lc.timeout < MinLockTimeout {
		return nil, fmt.Errorf("%w: memcached lock timeout %v is shorter than %v: memcached's clock ticks once a second, so such a lock may expire at once", backend.ErrBadArgument, lc.timeout, MinLockTimeout)
	}
	if lc.timeout > maxRelative {
		return nil, fmt.Errorf("%w: memcached lock timeout %v is longer than 30 days", backend.ErrBadArgument, lc.timeout)
	}
	lc.seconds = int32((lc.timeout + time.Second - 1) / time.Second)
	lc.timeout = time.Duration(lc.seconds) * time.Second
	lc.waitMax = max(lc.waitMax, lc.wait)

	var sl memcache.ServerList
	if err := sl.SetServers(o.Servers...); err != nil {
		return nil, fmt.Errorf("%w: memcached servers %q: %v", backend.ErrBadArgument, o.Servers, err)
	}
	client := memcache.NewFromSelector(tagSelector{ServerList: &sl, tagPrefix: o.KeyPrefix + tagAffix})
	client.Timeout = cmp.Or(o.Timeout, DefaultTimeout)
	client.MaxIdleConns = o.MaxIdleConns
	if client.MaxIdleConns == 0 {
		client.MaxIdleConns = DefaultMaxIdleConns
	}
	s := &Store{
		client:  client,
		servers: append([]string(nil), o.Servers...),
		prefix:  o.KeyPrefix,
		exp:     o.Expiration,
		ser:     o.Serializer,
		lock:    lc,
		now:     time.Now,
		clock:   o.Clock,
		done:    make(chan struct{}),
	}
	if s.clock == nil {
		s.clock = clock.System
	}
	if s.ser == nil {
		s.ser = serializer.Default
	}
	if !o.DisableKeyMangling {
		fit := backend.LengthLimitedKeyMangler(maxKeyLen-len(o.KeyPrefix)-len(lockAffix), manglePrefix)
		s.mangler = func(key string) string {
			if key == "" || strings.HasPrefix(key, manglePrefix) { // no empty key; never pass as a mangled one
				return manglePrefix + backend.SHA1KeyMangler(key)
			}
			return fit(key)
		}
	}
	return s, nil
}

// legalKey reports whether memcached's text protocol takes k as (part of) a
// key: no spaces, no control characters.
func legalKey(k string) bool {
	for i := 0; i < len(k); i++ {
		if c := k[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// serverKey is the key sent to the server for key.
func (s *Store) serverKey(key string) (string, error) {
	sk := s.prefix + key
	if strings.HasPrefix(key, "_") || strings.HasPrefix(key, "~") {
		// Lock and tag items are the prefix, then "_lock" or "_tag…": an
		// entry must never take one, so keys that begin with "_", or with
		// the escape "~", are sent with "~" before them.
		sk = s.prefix + "~" + key
	}
	if len(sk) > maxKeyLen || key == "" || !legalKey(key) {
		return "", fmt.Errorf("%w: %q (%d bytes with the prefix %q; memcached takes at most %d bytes, no spaces or control characters, not empty); leave key mangling on, or use shorter keys",
			ErrBadKey, key, len(sk), s.prefix, maxKeyLen)
	}
	return sk, nil
}

// ready reports ctx's error, or ErrClosed after Close.
func (s *Store) ready(ctx context.Context) error {
	if s.closed.Load() {
		return backend.ErrClosed
	}
	return ctx.Err()
}

// opError names the operation, key and servers of a failed call.
func (s *Store) opError(op, key string, err error) error {
	return fmt.Errorf("memcached %s: %s %q: %w", strings.Join(s.servers, ","), op, key, err)
}

// Get returns the entry stored under key. A record that does not decode
// (another format, or written by something else) is a miss.
func (s *Store) Get(ctx context.Context, key string) (backend.Entry, bool, error) {
	if err := s.ready(ctx); err != nil {
		return backend.Entry{}, false, err
	}
	sk, err := s.serverKey(key)
	if err != nil {
		return backend.Entry{}, false, err
	}
	var it *memcache.Item
	err = s.retryStale(func() (err error) { it, err = s.client.Get(sk); return err })
	if errors.Is(err, memcache.ErrCacheMiss) {
		return backend.Entry{}, false, nil
	}
	if err != nil {
		return backend.Entry{}, false, s.opError("get", key, err)
	}
	e, err := backend.UnmarshalRecord(it.Value)
	if err != nil {
		return backend.Entry{}, false, nil
	}
	return e, true, nil
}

// Set stores e under key, with the store's default expiration
// ([Options.Expiration]) if it has one.
func (s *Store) Set(ctx context.Context, key string, e backend.Entry) error {
	return s.SetWithTTL(ctx, key, e, 0)
}

// SetWithTTL stores e under key for ttl, rounded up to whole seconds; a ttl
// of zero means the store's default expiration.
func (s *Store) SetWithTTL(ctx context.Context, key string, e backend.Entry, ttl time.Duration) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	sk, err := s.serverKey(key)
	if err != nil {
		return err
	}
	return s.set(key, sk, e, s.exptime(ttl))
}

func (s *Store) set(key, sk string, e backend.Entry, exp int32) error {
	value := backend.MarshalRecord(e)
	err := s.retryStale(func() error { return s.client.Set(&memcache.Item{Key: sk, Value: value, Expiration: exp}) })
	if err != nil {
		if strings.Contains(err.Error(), "too large") {
			return fmt.Errorf("%w: %q is %d bytes as a record; raise the server's item size limit (memcached -I) or cache smaller values: %v", ErrTooLarge, key, len(value), err)
		}
		return s.opError("set", key, err)
	}
	return nil
}

// exptime is ttl (or the default expiration when ttl is zero) as a
// memcached expiry.
func (s *Store) exptime(ttl time.Duration) int32 {
	if ttl <= 0 {
		ttl = s.exp
	}
	return expiry(ttl, s.now())
}

// Delete removes key.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	sk, err := s.serverKey(key)
	if err != nil {
		return err
	}
	return s.delete(key, sk)
}

func (s *Store) delete(key, sk string) error {
	err := s.retryStale(func() error { return s.client.Delete(sk) })
	if err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
		return s.opError("delete", key, err)
	}
	return nil
}

// GetMulti returns the entries stored under keys, zero where missing, in
// one round trip per server.
func (s *Store) GetMulti(ctx context.Context, keys []string) ([]backend.Entry, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	sks := make([]string, len(keys))
	for i, k := range keys {
		sk, err := s.serverKey(k)
		if err != nil {
			return nil, err
		}
		sks[i] = sk
	}
	var items map[string]*memcache.Item
	err := s.retryStale(func() (err error) { items, err = s.client.GetMulti(sks); return err })
	if err != nil {
		return nil, fmt.Errorf("memcached %s: get_multi of %d keys: %w", strings.Join(s.servers, ","), len(keys), err)
	}
	out := make([]backend.Entry, len(keys))
	for i, sk := range sks {
		if it, ok := items[sk]; ok {
			if e, err := backend.UnmarshalRecord(it.Value); err == nil {
				out[i] = e
			}
		}
	}
	return out, nil
}

// SetMulti stores entries for ttl (zero: the default expiration). The
// client has no multi-set, so it writes one entry per round trip, and
// stops at the first error.
func (s *Store) SetMulti(ctx context.Context, entries []backend.KeyedEntry, ttl time.Duration) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	sks := make([]string, len(entries))
	for i, ke := range entries {
		sk, err := s.serverKey(ke.Key)
		if err != nil {
			return err
		}
		sks[i] = sk
	}
	exp := s.exptime(ttl)
	for i, ke := range entries {
		if err := s.set(ke.Key, sks[i], ke.Entry, exp); err != nil {
			return err
		}
	}
	return nil
}

// DeleteMulti removes keys, one round trip per key, stopping at the first
// error.
func (s *Store) DeleteMulti(ctx context.Context, keys []string) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	sks := make([]string, len(keys))
	for i, k := range keys {
		sk, err := s.serverKey(k)
		if err != nil {
			return err
		}
		sks[i] = sk
	}
	for i, k := range keys {
		if err := s.delete(k, sks[i]); err != nil {
			return err
		}
	}
	return nil
}

// Serializer returns the serializer the store recommends.
func (s *Store) Serializer() backend.Serializer { return s.ser }

// KeyMangler returns the mangler that fits keys to memcached (see
// [Options.DisableKeyMangling]), or nil when mangling is off.
func (s *Store) KeyMangler() backend.KeyMangler { return s.mangler }

// Close stops the renewal of the locks this store's handles hold (they
// then expire after their timeout) and closes the client's connections.
// The store returns [backend.ErrClosed] afterwards.
func (s *Store) Close() error {
	s.renewMu.Lock()
	first := s.closed.CompareAndSwap(false, true)
	s.renewMu.Unlock()
	if !first {
		return nil
	}
	close(s.done)
	s.renewals.Wait()
	return s.client.Close()
}

var (
	_ backend.Backend       = (*Store)(nil)
	_ backend.MultiGetter   = (*Store)(nil)
	_ backend.MultiSetter   = (*Store)(nil)
	_ backend.MultiDeleter  = (*Store)(nil)
	_ backend.TTLSetter     = (*Store)(nil)
	_ backend.Serializing   = (*Store)(nil)
	_ backend.KeyMangling   = (*Store)(nil)
	_ backend.Locker        = (*Store)(nil)
	_ backend.LockInspector = (*Store)(nil)
)
