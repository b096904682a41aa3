package redis

import (
	"context"
	"fmt"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/serializer"
)

// Store is the Redis store. It is safe for concurrent use by multiple
// goroutines.
type Store struct {
	rdb     goredis.UniversalClient
	owned   bool // the store made rdb and closes it
	cluster bool // keys of one call may live on several nodes
	o       Options
	ser     backend.Serializer
}

// New makes a store. It does not contact Redis: a Redis that is down shows
// as errors from the store's calls, which a region turns into fallbacks.
func New(o Options) (*Store, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	rdb, owned, err := o.client()
	if err != nil {
		return nil, err
	}
	s := &Store{rdb: rdb, owned: owned, o: o, ser: o.Serializer}
	if s.ser == nil {
		s.ser = serializer.Default
	}
	_, s.cluster = rdb.(*goredis.ClusterClient)
	if s.cluster {
		// A prefix whose first "{" is followed at once by "}" is an empty
		// hash tag: every key hashes whole, and a tag's two keys (see
		// tagKey) land in different slots, which its scripts cannot span.
		if i := strings.IndexByte(o.KeyPrefix, '{'); i >= 0 && strings.HasPrefix(o.KeyPrefix[i:], "{}") {
			if owned {
				_ = rdb.Close()
			}
			return nil, fmt.Errorf("%w: redis KeyPrefix %q has an empty hash tag \"{}\", which a Cluster cannot keep a tag's keys together under", backend.ErrBadArgument, o.KeyPrefix)
		}
	}
	return s, nil
}

// Client returns the go-redis client the store uses.
func (s *Store) Client() goredis.UniversalClient { return s.rdb }

// KeyPrefix returns the prefix the store puts before every key
// (Options.KeyPrefix).
func (s *Store) KeyPrefix() string { return s.o.KeyPrefix }

func (s *Store) key(k string) string {
	// An entry must never take a tag's keys ("tag:{…}", "tag_:{…}", see
	// tagKey) nor a lock's (LockPrefix + key): keys that begin with "tag",
	// the lock prefix, or the escape "~" are sent with "~" before them.
	if strings.HasPrefix(k, "tag") || strings.HasPrefix(k, "~") || strings.HasPrefix(k, s.o.LockPrefix) {
		return s.o.KeyPrefix + "~" + k
	}
	return s.o.KeyPrefix + k
}

// Get returns the entry stored under key. A value that is not a record of
// a known format is reported as missing.
func (s *Store) Get(ctx context.Context, key string) (backend.Entry, bool, error) {
	return readEntry(s.rdb.Get(ctx, s.key(key)))
}

func decode(data []byte) (backend.Entry, bool, error) {
	e, err := backend.UnmarshalRecord(data)
	if err != nil {
		return backend.Entry{}, false, nil
	}
	return e, true, nil
}

// Set stores e under key, with the store's default Expiration if it has one.
func (s *Store) Set(ctx context.Context, key string, e backend.Entry) error {
	return s.SetWithTTL(ctx, key, e, 0)
}

// SetWithTTL stores e under key, to be dropped after ttl (the store's
// default Expiration when ttl is zero).
func (s *Store) SetWithTTL(ctx context.Context, key string, e backend.Entry, ttl time.Duration) error {
	return s.rdb.Set(ctx, s.key(key), backend.MarshalRecord(e), s.ttl(ttl)).Err()
}

// Expiration returns the TTL the store gives entries written without one
// (Options.Expiration; 0: none).
func (s *Store) Expiration() time.Duration { return s.o.Expiration }

func (s *Store) ttl(ttl time.Duration) time.Duration {
	if ttl > 0 {
		return ttl
	}
	return s.o.Expiration // 0: keep
}

// Delete removes key.
func (s *Store) Delete(ctx context.Context, key string) error {
	return s.rdb.Del(ctx, s.key(key)).Err()
}

// GetMulti returns the entries stored under keys, zero where missing, in one
// round trip (MGET), or one per node on a Cluster.
func (s *Store) GetMulti(ctx context.Context, keys []string) ([]backend.Entry, error) {
	if len(keys) == 0 {
		return []backend.Entry{}, nil
	}
	if !s.cluster {
		out := make([]backend.Entry, len(keys))
		full := make([]string, len(keys))
		for i, k := range keys {
			full[i] = s.key(k)
		}
		vals, err := s.rdb.MGet(ctx, full...).Result()
		if err != nil {
			return nil, err
		}
		for i, v := range vals {
			if str, ok := v.(string); ok {
				out[i], _, _ = decode([]byte(str))
			}
		}
		return out, nil
	}
	out, _, err := s.getPipelined(ctx, keys, false)
	return out, err
}

// SetMulti stores entries in one round trip (one per node on a Cluster).
func (s *Store) SetMulti(ctx context.Context, entries []backend.KeyedEntry, ttl time.Duration) error {
	if len(entries) == 0 {
		return nil
	}
	ttl = s.ttl(ttl)
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, ke := range entries {
			p.Set(ctx, s.key(ke.Key), backend.MarshalRecord(ke.Entry), ttl)
		}
		return nil
	})
	return err
}

// DeleteMulti removes keys in one round trip (one per node on a Cluster).
func (s *Store) DeleteMulti(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, k := range keys {
			p.Del(ctx, s.key(k))
		}
		return nil
	})
	return err
}

// Serializer returns the serializer the store recommends.
func (s *Store) Serializer() backend.Serializer { return s.ser }

// Close closes the client if the store made it.
func (s *Store) Close() error {
	if s.owned {
		return s.rdb.Close()
	}
	return nil
}

var (
	_ backend.Backend       = (*Store)(nil)
	_ backend.MultiGetter   = (*Store)(nil)
	_ backend.MultiSetter   = (*Store)(nil)
	_ backend.MultiDeleter  = (*Store)(nil)
	_ backend.TTLSetter     = (*Store)(nil)
	_ backend.Serializing   = (*Store)(nil)
	_ backend.Locker        = (*Store)(nil)
	_ backend.LockInspector = (*Store)(nil)
)
