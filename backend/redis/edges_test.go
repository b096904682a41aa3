package redis_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/redis"
	"github.com/dogpile-go/dogpile/internal/testenv"
)

// A creator whose request was canceled while it held the lock still
// releases it: the handle forgets its token on Unlock, so a lock it fails
// to release stays (and blocks every other process's creators) until the
// lock timeout.
func TestUnlockWithCanceledContextReleases(t *testing.T) {
	a, _, lockPrefix := lockStores(t, redis.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	m := a.Mutex("k")
	if ok, err := m.TryLock(ctx); err != nil || !ok {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}
	cancel() // the caller went away while creating
	err := m.Unlock(ctx)
	if n := a.Client().Exists(context.Background(), lockPrefix+"k").Val(); n != 0 {
		left := a.Client().PTTL(context.Background(), lockPrefix+"k").Val()
		t.Fatalf("after Unlock with a canceled context (= %v) the lock is still held for %v", err, left)
	}
	if err != nil {
		t.Fatalf("Unlock = %v, want a clean release", err)
	}
}

// failAfterSet is a go-redis hook that makes SET fail on the client after
// the server applied it, as a context deadline that ends while the reply
// is on its way does.
type failAfterSet struct{}

func (failAfterSet) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (failAfterSet) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		err := next(ctx, cmd)
		if cmd.Name() == "set" {
			cmd.SetErr(context.DeadlineExceeded)
			return context.DeadlineExceeded
		}
		return err
	}
}
func (failAfterSet) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return next
}

// A TryLock that fails after Redis applied its SET NX must not leave a lock
// that nobody holds (no handle knows its token) for the whole lock timeout.
func TestTryLockErrorLeavesNoOrphanLock(t *testing.T) {
	r := testenv.SharedRedis(t)
	client := goredis.NewClient(&goredis.Options{Addr: r.Addr(), Password: r.Password()})
	t.Cleanup(func() { client.Close() })
	client.AddHook(failAfterSet{})
	prefix := uniquePrefix(t)
	s := newStore(t, redis.Options{Client: client, KeyPrefix: prefix})
	ok, err := s.Mutex("k").TryLock(context.Background())
	if err == nil || ok {
		t.Fatalf("TryLock = %v, %v; want the injected error", ok, err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for client.Exists(context.Background(), prefix+"lock:k").Val() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("TryLock failed (%v) but left the lock held for %v more, with no handle to release it",
				err, client.PTTL(context.Background(), prefix+"lock:k").Val())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Bad registry arguments give an error naming the argument, never a panic.
func TestRegistryBadArguments(t *testing.T) {
	tests := []struct {
		name    string
		backend string
		args    backend.Arguments
		want    string // the error must name this argument
	}{
		{"negative pool_size", "redis", backend.Arguments{"url": "redis://127.0.0.1:1", "pool_size": -1}, "pool_size"},
		{"negative pool_size sentinel", "redis_sentinel", backend.Arguments{"sentinels": "127.0.0.1:1", "pool_size": -1}, "pool_size"},
		{"negative pool_size cluster", "redis_cluster", backend.Arguments{"startup_nodes": "127.0.0.1:1", "pool_size": -1}, "pool_size"},
		{"url and db", "redis", backend.Arguments{"url": "redis://127.0.0.1:1/2", "db": 3}, "db"},
		{"url and port", "redis", backend.Arguments{"url": "redis://127.0.0.1:1", "port": 6380}, "port"},
		{"port out of range", "redis", backend.Arguments{"port": 99999}, "port"},
		{"negative lock_timeout", "redis", backend.Arguments{"url": "redis://127.0.0.1:1", "lock_timeout": "-1s"}, "lock_timeout"},
		{"negative redis_expiration_time", "redis", backend.Arguments{"url": "redis://127.0.0.1:1", "redis_expiration_time": -5}, "redis_expiration_time"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var (
				b   backend.Backend
				err error
			)
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("Open(%s, %v) panicked: %v", tc.backend, tc.args, p)
					}
				}()
				b, err = backend.Open(tc.backend, tc.args)
			}()
			if err == nil {
				backend.Close(b)
				t.Fatalf("Open(%s, %v) = nil error, want ErrBadArgument naming %q", tc.backend, tc.args, tc.want)
			}
			if !errors.Is(err, backend.ErrBadArgument) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open(%s, %v) = %v, want ErrBadArgument naming %q", tc.backend, tc.args, err, tc.want)
			}
		})
	}
}

// The redis_cluster url keeps what it says: the ACL user and, for
// rediss://, TLS.
func TestRegistryClusterURL(t *testing.T) {
	b, err := backend.Open("redis_cluster", backend.Arguments{"url": "rediss://alice:secret@127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close(b)
	o := b.(*redis.Store).Client().(*goredis.ClusterClient).Options()
	if o.Username != "alice" || o.Password != "secret" || o.TLSConfig == nil {
		t.Fatalf("redis_cluster url rediss://alice:…@… gave Username %q, password set %v, TLS %v; want alice, true, true",
			o.Username, o.Password != "", o.TLSConfig != nil)
	}
}

// On a Cluster, a tag's two keys must share a slot whatever the key
// prefix; a prefix whose first "{" is followed by "}" is an empty hash
// tag, so each key hashes whole and the release script fails with
// CROSSSLOT, leaving the tag pending until its lease ends. Such a prefix
// must be refused up front.
func TestClusterPrefixWithEmptyHashTag(t *testing.T) {
	c := testenv.SharedRedisCluster(t)
	s, err := redis.New(redis.Options{Universal: &goredis.UniversalOptions{Addrs: c.Addrs(), IsClusterMode: true}, KeyPrefix: "{}" + uniquePrefix(t)})
	if errors.Is(err, backend.ErrBadArgument) {
		return // refused, as it should be
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	if err := s.MarkPending(ctx, []string{"t"}, "w", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleasePending(ctx, []string{"t"}, "w", true); err != nil {
		t.Fatalf("ReleasePending with key prefix \"{}…\" on a Cluster: %v", err)
	}
}

// A mark with a negative lease (already lapsed) must not leave its set in
// Redis with no TTL at all: the set's TTL is lease+1s, which is negative
// here, so the script never sets one and the set stays for good.
func TestNegativeLeaseLeavesNoImmortalSet(t *testing.T) {
	prefix := uniquePrefix(t)
	s := newStore(t, redis.Options{URL: testenv.SharedRedis(t).URL(), KeyPrefix: prefix})
	ctx := context.Background()
	if err := s.MarkPending(ctx, []string{"t"}, "w", -5*time.Second); err != nil {
		t.Fatal(err)
	}
	key := prefix + "tag:{t}:p"
	if left := s.Client().PTTL(ctx, key).Val(); left == -1 {
		t.Fatalf("PTTL(%s) after MarkPending with a negative lease = %v: the set never expires", key, left)
	}
	if st, err := s.TagStates(ctx, []string{"t"}); err != nil || st[0].Pending {
		t.Fatalf("TagStates = %+v, %v; a lapsed mark is not pending", st, err)
	}
}

// The "redis" url argument keeps the settings of its query (as go-redis's
// ParseURL reads them), not only its address, db and credentials.
func TestRegistryURLQuery(t *testing.T) {
	b, err := backend.Open("redis", backend.Arguments{"url": "redis://127.0.0.1:1/0?client_name=app&protocol=2&pool_size=7&read_timeout=5s"})
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close(b)
	o := b.(*redis.Store).Client().(*goredis.Client).Options()
	if o.ClientName != "app" || o.Protocol != 2 || o.PoolSize != 7 || o.ReadTimeout != 5*time.Second {
		t.Fatalf("url ?client_name=app&protocol=2&pool_size=7&read_timeout=5s gave client_name %q, protocol %d, pool_size %d, read_timeout %v",
			o.ClientName, o.Protocol, o.PoolSize, o.ReadTimeout)
	}
}
