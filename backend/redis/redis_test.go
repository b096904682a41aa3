package redis_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/backendtest"
	"github.com/dogpile-go/dogpile/backend/redis"
	"github.com/dogpile-go/dogpile/clock"
	"github.com/dogpile-go/dogpile/internal/testenv"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(envWorker); mode != "" {
		os.Exit(runWorker(mode))
	}
	testenv.Main(m)
}

var prefixes atomic.Int64

// uniquePrefix keeps tests that share a server apart.
func uniquePrefix(t *testing.T) string {
	return fmt.Sprintf("test%d:%s:", prefixes.Add(1), t.Name())
}

func newStore(t *testing.T, o redis.Options) *redis.Store {
	t.Helper()
	s, err := redis.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// harness runs the conformance suite against the Redis that opts names.
func harness(opts func(t *testing.T) redis.Options) backendtest.Harness {
	var clk *clock.Manual
	return backendtest.Harness{
		AdvanceClock: func(t *testing.T, d time.Duration) { clk.Advance(d) },
		ForgetTag: func(t *testing.T, b backend.Backend, tag string) {
			s := b.(*redis.Store)
			if err := s.Client().Del(context.Background(), redis.VersionKey(s, tag)).Err(); err != nil {
				t.Fatal(err)
			}
		},
		New: func(t *testing.T) backend.Backend {
			o := opts(t)
			o.KeyPrefix = uniquePrefix(t)
			clk = clock.NewManual(time.Now())
			o.Clock = clk
			s, err := redis.New(o)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		CheckTTL: func(t *testing.T, b backend.Backend, key string, ttl time.Duration) {
			s := b.(*redis.Store)
			left, err := s.Client().PTTL(context.Background(), prefixOf(t, s)+key).Result()
			if err != nil || left <= 0 || left > ttl {
				t.Errorf("PTTL(%q) = %v, %v; want within (0, %v]", key, left, err, ttl)
			}
		},
		SecondHandle: func(t *testing.T, b backend.Backend) backend.Backend {
			o := opts(t)
			o.KeyPrefix = prefixOf(t, b.(*redis.Store))
			o.Clock = clk
			return newStore(t, o)
		},
	}
}

// prefixOf recovers a store's key prefix through an entry it writes.
func prefixOf(t *testing.T, s *redis.Store) string {
	t.Helper()
	return redis.KeyPrefix(s)
}

func TestConformanceSingle(t *testing.T) {
	backendtest.Run(t, harness(func(t *testing.T) redis.Options {
		return redis.Options{URL: testenv.SharedRedis(t).URL()}
	}))
}

func TestConformanceSentinel(t *testing.T) {
	backendtest.Run(t, harness(func(t *testing.T) redis.Options {
		s := testenv.SharedRedisSentinel(t)
		return redis.Options{Universal: &goredis.UniversalOptions{Addrs: s.SentinelAddrs(), MasterName: s.MasterName()}}
	}))
}

func TestConformanceCluster(t *testing.T) {
	backendtest.Run(t, harness(func(t *testing.T) redis.Options {
		c := testenv.SharedRedisCluster(t)
		return redis.Options{Universal: &goredis.UniversalOptions{Addrs: c.Addrs(), IsClusterMode: true}}
	}))
}

func TestOptionsErrors(t *testing.T) {
	tests := []struct {
		name string
		o    redis.Options
	}{
		{"nowhere", redis.Options{}},
		{"two places", redis.Options{URL: "redis://localhost:1", Universal: &goredis.UniversalOptions{Addrs: []string{"x:1"}}}},
		{"bad url", redis.Options{URL: "http://user:secret@host"}},
		{"negative timeout", redis.Options{URL: "redis://localhost:1", LockTimeout: -time.Second}},
		{"renew not shorter", redis.Options{URL: "redis://localhost:1", LockTimeout: time.Second, LockRenewEvery: time.Second}},
		{"no addrs", redis.Options{Universal: &goredis.UniversalOptions{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := redis.New(tc.o)
			if !errors.Is(err, backend.ErrBadArgument) {
				t.Fatalf("New = %v, want ErrBadArgument", err)
			}
			if strings.Contains(fmt.Sprint(err), "secret") {
				t.Fatalf("error shows the password: %v", err)
			}
		})
	}
}

func TestRegistry(t *testing.T) {
	single := testenv.SharedRedis(t)
	host, port, _ := strings.Cut(single.Addr(), ":")
	tests := []struct {
		name    string
		backend string
		args    backend.Arguments
		wantErr bool
	}{
		{"url", "redis", backend.Arguments{"url": single.URL(), "lock_timeout": "2s", "redis_expiration_time": 60}, false},
		{"host and port as strings", "redis", backend.Arguments{"host": host, "port": port, "db": "1"}, false},
		{"no lock", "redis", backend.Arguments{"url": single.URL(), "distributed_lock": "false"}, false},
		{"url and host", "redis", backend.Arguments{"url": single.URL(), "host": host}, true},
		{"misspelt", "redis", backend.Arguments{"url": single.URL(), "lock_timout": "2s"}, true},
		{"bad duration", "redis", backend.Arguments{"url": single.URL(), "lock_timeout": "soon"}, true},
		{"sentinel without sentinels", "redis_sentinel", backend.Arguments{"service_name": "m"}, true},
		{"cluster without nodes", "redis_cluster", backend.Arguments{}, true},
		{"unknown serializer", "redis", backend.Arguments{"url": single.URL(), "serializer": "pickle"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := backend.Open(tc.backend, tc.args)
			if tc.wantErr {
				if !errors.Is(err, backend.ErrBadArgument) {
					t.Fatalf("Open = %v, want ErrBadArgument", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer backend.Close(b)
			ctx := context.Background()
			e := backend.Entry{Data: []byte("x"), Meta: backend.Metadata{Created: time.Now(), Version: 1}}
			key := uniquePrefix(t) + "k"
			if err := b.Set(ctx, key, e); err != nil {
				t.Fatal(err)
			}
			if _, ok, err := b.Get(ctx, key); err != nil || !ok {
				t.Fatalf("Get after Set = %v, %v", ok, err)
			}
		})
	}
	// The sentinel and cluster forms reach their servers.
	sen := testenv.SharedRedisSentinel(t)
	cl := testenv.SharedRedisCluster(t)
	for name, args := range map[string]backend.Arguments{
		"redis_sentinel": {"sentinels": strings.Join(sen.SentinelAddrs(), ","), "service_name": sen.MasterName()},
		"redis_cluster":  {"startup_nodes": strings.Join(cl.Addrs(), ",")},
	} {
		b, err := backend.Open(name, args)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ctx := context.Background()
		if err := b.Set(ctx, uniquePrefix(t)+name, backend.Entry{Data: []byte("x"), Meta: backend.Metadata{Created: time.Now(), Version: 1}}); err != nil {
			t.Fatalf("%s: Set: %v", name, err)
		}
		backend.Close(b)
	}
}

func TestForeignValueIsMiss(t *testing.T) {
	r := testenv.SharedRedis(t)
	prefix := uniquePrefix(t)
	s := newStore(t, redis.Options{URL: r.URL(), KeyPrefix: prefix})
	ctx := context.Background()
	s.Client().Set(ctx, prefix+"k", "written by another program", 0)
	if _, ok, err := s.Get(ctx, "k"); ok || err != nil {
		t.Fatalf("Get of a foreign value = %v, %v; want a miss", ok, err)
	}
	if got, err := s.GetMulti(ctx, []string{"k"}); err != nil || !got[0].IsZero() {
		t.Fatalf("GetMulti of a foreign value = %v, %v; want a miss", got, err)
	}
}

func TestDefaultExpiration(t *testing.T) {
	r := testenv.SharedRedis(t)
	prefix := uniquePrefix(t)
	s := newStore(t, redis.Options{URL: r.URL(), KeyPrefix: prefix, Expiration: time.Hour})
	ctx := context.Background()
	if err := s.Set(ctx, "k", backend.Entry{Data: []byte("x"), Meta: backend.Metadata{Created: time.Now(), Version: 1}}); err != nil {
		t.Fatal(err)
	}
	if left := s.Client().PTTL(ctx, prefix+"k").Val(); left <= 59*time.Minute || left > time.Hour {
		t.Fatalf("TTL of a write without one = %v, want the store's hour", left)
	}
}

// The empty tag works on a Cluster: its version and its marks share a slot
// as every tag's do, so the scripts that touch both run.
func TestEmptyTagOnCluster(t *testing.T) {
	c := testenv.SharedRedisCluster(t)
	s, err := redis.New(redis.Options{Universal: &goredis.UniversalOptions{Addrs: c.Addrs(), IsClusterMode: true}, KeyPrefix: t.Name() + ":"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	before, err := s.TagStates(ctx, []string{""})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.MarkPending(ctx, []string{""}, "writer", time.Minute); err != nil {
		t.Fatal(err)
	}
	if st, err := s.TagStates(ctx, []string{""}); err != nil || !st[0].Pending {
		t.Fatalf("TagStates after MarkPending = %+v, %v; want pending", st, err)
	}
	if err := s.ReleasePending(ctx, []string{""}, "writer", true); err != nil {
		t.Fatalf("ReleasePending of the empty tag: %v", err)
	}
	after, err := s.TagStates(ctx, []string{""})
	if err != nil || after[0].Pending || after[0].Version == before[0].Version {
		t.Fatalf("TagStates after the release = %+v, %v; want a new version, not pending (was %+v)", after, err, before)
	}
}

// failSecondGet is a go-redis hook that fails the second GET of every
// pipeline, as a Cluster node that is down would.
type failSecondGet struct{}

func (failSecondGet) DialHook(next goredis.DialHook) goredis.DialHook          { return next }
func (failSecondGet) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook { return next }
func (failSecondGet) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		err := next(ctx, cmds)
		if len(cmds) > 1 && cmds[1].Name() == "get" {
			cmds[1].SetErr(errors.New("node down"))
		}
		return err
	}
}

// On a Cluster, GetMulti pipelines GETs; a failed one is an error, even
// when the first key is simply missing (Pipelined reports only the first
// command's error).
func TestGetMultiReportsAFailedNodeOnCluster(t *testing.T) {
	c := testenv.SharedRedisCluster(t)
	client := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: c.Addrs()})
	t.Cleanup(func() { client.Close() })
	client.AddHook(failSecondGet{})
	s, err := redis.New(redis.Options{Client: client, KeyPrefix: t.Name() + ":"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	if err := s.Set(ctx, "present", backend.Entry{Data: []byte("v"), Meta: backend.Metadata{Created: time.Now(), Version: 1}}); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetMulti(ctx, []string{"missing", "present"})
	if err == nil || !strings.Contains(err.Error(), "node down") {
		t.Fatalf("GetMulti with a failed GET = %v; want the failure, not a miss", err)
	}
}
