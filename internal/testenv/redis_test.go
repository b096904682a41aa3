package testenv_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/internal/testenv"
)

func redisClient(t *testing.T, opts *redis.Options) *redis.Client {
	t.Helper()
	opts.MaxRetries = -1 // see failures as they happen
	opts.DialTimeout = time.Second
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestSharedRedisRoundTrip(t *testing.T) {
	t.Parallel()
	r := testenv.SharedRedis(t)
	ctx := context.Background()
	c := redisClient(t, &redis.Options{Addr: r.Addr()})
	if err := c.Set(ctx, "testenv:shared", "go-redis", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// redis-cli, the server's own client, sees it.
	out, err := exec.Command("redis-cli", "-u", r.URL(), "GET", "testenv:shared").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "go-redis" {
		t.Fatalf("redis-cli GET: %q, %v; want go-redis", out, err)
	}
}

func TestNewRedisOptions(t *testing.T) {
	t.Parallel()
	r := testenv.NewRedis(t, testenv.RedisOptions{
		Password:        "s3cret word",
		MaxMemory:       "2mb",
		MaxMemoryPolicy: "allkeys-lru",
		Config:          []string{"notify-keyspace-events KEA"},
	})
	ctx := context.Background()
	if err := redisClient(t, &redis.Options{Addr: r.Addr()}).Ping(ctx).Err(); err == nil {
		t.Fatal("PING without the password succeeded")
	}
	opts, err := redis.ParseURL(r.URL())
	if err != nil {
		t.Fatalf("ParseURL(%q): %v", r.URL(), err)
	}
	c := redisClient(t, opts)
	for key, want := range map[string]string{
		"maxmemory":              "2097152",
		"maxmemory-policy":       "allkeys-lru",
		"notify-keyspace-events": "AKE",
	} {
		got, err := c.ConfigGet(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if got[key] != want {
			t.Errorf("CONFIG GET %s = %q, want %q", key, got[key], want)
		}
	}
}

func TestRedisStopStartKill(t *testing.T) {
	t.Parallel()
	r := testenv.NewRedis(t, testenv.RedisOptions{})
	c := redisClient(t, &redis.Options{Addr: r.Addr()})
	ctx := context.Background()
	for _, step := range []struct {
		name   string
		break_ func(testing.TB)
	}{{"stop", r.Stop}, {"kill", r.Kill}} {
		if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		step.break_(t)
		if err := c.Ping(ctx).Err(); err == nil {
			t.Fatalf("after %s: server still answers", step.name)
		}
		r.Start(t)
		if err := c.Get(ctx, "k").Err(); !errors.Is(err, redis.Nil) {
			t.Fatalf("after %s and Start: GET k: %v, want redis.Nil (an empty server)", step.name, err)
		}
	}
	c.Set(ctx, "k", "v", 0)
	r.Restart(t)
	if n, err := c.DBSize(ctx).Result(); err != nil || n != 0 {
		t.Fatalf("after Restart: DBSIZE %d, %v; want 0", n, err)
	}
}

func TestRedisPause(t *testing.T) {
	t.Parallel()
	r := testenv.NewRedis(t, testenv.RedisOptions{})
	c := redisClient(t, &redis.Options{Addr: r.Addr(), ReadTimeout: 200 * time.Millisecond})
	ctx := context.Background()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	r.Pause(t)
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("a paused server answered")
	}
	r.Resume(t)
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("after Resume: %v", err)
	}
}

func TestRedisCluster(t *testing.T) {
	t.Parallel()
	rc := testenv.NewRedisCluster(t, testenv.RedisClusterOptions{Password: "pw"})
	if len(rc.Addrs()) != 3 {
		t.Fatalf("Addrs() = %v, want three", rc.Addrs())
	}
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs(), Password: rc.Password(), MaxRedirects: 3, DialTimeout: time.Second})
	defer c.Close()
	ctx := context.Background()
	// Enough keys to land on every node.
	for i := range 30 {
		if err := c.Set(ctx, fmt.Sprintf("key%d", i), i, 0).Err(); err != nil {
			t.Fatalf("SET key%d: %v", i, err)
		}
	}
	var mu sync.Mutex
	perNode := map[string]int64{}
	err := c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		n, err := m.DBSize(ctx).Result()
		mu.Lock()
		defer mu.Unlock()
		perNode[m.Options().Addr] = n
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range rc.Addrs() {
		if perNode[a] == 0 {
			t.Errorf("node %s holds no keys (%v): slots not spread", a, perNode)
		}
	}

	node := rc.Nodes()[1]
	node.Kill(t)
	node.Start(t)
	rc.WaitHealthy(t)
	if err := c.Set(ctx, "after-restart", 1, 0).Err(); err != nil {
		t.Fatalf("SET after a node's restart: %v", err)
	}
}

func TestSharedRedisCluster(t *testing.T) {
	t.Parallel()
	rc := testenv.SharedRedisCluster(t)
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs()})
	defer c.Close()
	if err := c.Set(context.Background(), "testenv:shared-cluster", 1, 0).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestRedisSentinelFailover(t *testing.T) {
	t.Parallel()
	s := testenv.NewRedisSentinel(t, testenv.RedisSentinelOptions{MasterName: "testenv", DownAfter: time.Second, Password: "pw"})
	if len(s.SentinelAddrs()) != 3 || s.MasterName() != "testenv" {
		t.Fatalf("SentinelAddrs() = %v, MasterName() = %q", s.SentinelAddrs(), s.MasterName())
	}
	c := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:    s.MasterName(),
		SentinelAddrs: s.SentinelAddrs(),
		Password:      s.Password(),
		DialTimeout:   time.Second,
	})
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got := s.MasterAddr(t); got != s.Master().Addr() {
		t.Fatalf("MasterAddr() = %s, want the master %s", got, s.Master().Addr())
	}

	s.Master().Kill(t)
	deadline := time.Now().Add(30 * time.Second)
	for s.MasterAddr(t) != s.Replica().Addr() {
		if time.Now().After(deadline) {
			t.Fatalf("no failover to the replica %s within 30s", s.Replica().Addr())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The failover client follows; the replica had the data.
	var got string
	var err error
	for time.Now().Before(deadline) {
		if got, err = c.Get(ctx, "k").Result(); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got != "v" {
		t.Fatalf("GET k after failover: %q, %v; want v", got, err)
	}
}

func TestSharedRedisSentinel(t *testing.T) {
	t.Parallel()
	s := testenv.SharedRedisSentinel(t)
	c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: s.MasterName(), SentinelAddrs: s.SentinelAddrs()})
	defer c.Close()
	if err := c.Set(context.Background(), "testenv:shared-sentinel", 1, 0).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestStartFailureShowsTheLog(t *testing.T) {
	t.Parallel()
	rec := record(t, func(tb testing.TB) {
		testenv.NewRedis(tb, testenv.RedisOptions{Config: []string{"no-such-directive yes"}})
	})
	if rec.skip != "" || !strings.Contains(rec.fatal, testenv.ErrStartFailed.Error()) ||
		!strings.Contains(rec.fatal, "no-such-directive") {
		t.Fatalf("a server that cannot start: skip %q, fatal %q; want a failure quoting its log", rec.skip, rec.fatal)
	}
}
