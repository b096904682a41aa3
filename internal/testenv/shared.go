package testenv

import (
	"sync"
	"testing"
)

// shared is one server that all tests of a test binary use: started, or
// taken from the environment, by the first test that asks, and stopped by
// Main. A failed start is remembered, so every later test that asks is
// skipped or failed the same way rather than trying again.
type shared[T any] struct {
	once sync.Once
	v    T
	err  error
}

func (s *shared[T]) get(tb testing.TB, start func() (T, error)) T {
	tb.Helper()
	requireMain(tb)
	s.once.Do(func() { s.v, s.err = start() })
	if s.err != nil {
		skipOrFatal(tb, s.err)
	}
	return s.v
}

var (
	sharedRedis        shared[*Redis]
	sharedRedisCluster shared[*RedisCluster]
	sharedSentinel     shared[*RedisSentinel]
	sharedPostgres     shared[*Postgres]
	sharedMemcached    shared[*Memcached]
)

// SharedRedis returns the Redis server that all tests of this binary share
// (no password, no memory limit): the one [EnvRedisAddr] names, or else one
// started on first use and stopped by [Main]. Tests must keep to keys of
// their own and not flush it; a test that needs an empty, limited or
// breakable server uses [NewRedis]. A missing redis-server skips tb, or
// fails it when CI is set.
func SharedRedis(tb testing.TB) *Redis {
	tb.Helper()
	return sharedRedis.get(tb, func() (*Redis, error) {
		if r, err := externalRedis(); r != nil || err != nil {
			return r, err
		}
		r, err := startRedisNode(redisNode{kind: "redis", newFunc: "NewRedis"})
		if err != nil {
			return nil, err
		}
		r.shared = true
		atTeardown(r.close)
		return r, nil
	})
}

// SharedRedisCluster returns the Redis Cluster that all tests of this binary
// share: the one [EnvRedisClusterAddrs] names, or else three masters
// started on first use and stopped by [Main]. Its nodes cannot be stopped
// or killed: use [NewRedisCluster] for that.
func SharedRedisCluster(tb testing.TB) *RedisCluster {
	tb.Helper()
	return sharedRedisCluster.get(tb, func() (*RedisCluster, error) {
		if c := externalRedisCluster(); c != nil {
			return c, nil
		}
		c, err := startRedisCluster(RedisClusterOptions{}, "NewRedisCluster")
		if err != nil {
			return nil, err
		}
		for _, n := range c.nodes {
			n.shared = true
		}
		atTeardown(c.close)
		return c, nil
	})
}

// SharedRedisSentinel returns the master, replica and sentinels that all
// tests of this binary share: those [EnvRedisSentinelAddrs] and
// [EnvRedisSentinelMaster] name, or else ones started on first use (master
// name "mymaster") and stopped by [Main]. Its servers cannot be stopped or
// killed: use [NewRedisSentinel] for a failover test.
func SharedRedisSentinel(tb testing.TB) *RedisSentinel {
	tb.Helper()
	return sharedSentinel.get(tb, func() (*RedisSentinel, error) {
		if s, err := externalRedisSentinel(); s != nil || err != nil {
			return s, err
		}
		s, err := startRedisSentinel(RedisSentinelOptions{}, "NewRedisSentinel")
		if err != nil {
			return nil, err
		}
		for _, r := range append([]*Redis{s.master, s.replica}, s.sentinels...) {
			r.shared = true
		}
		atTeardown(s.close)
		return s, nil
	})
}

// SharedPostgres returns the PostgreSQL server that all tests of this binary
// share: the one [EnvPostgresURL] names, or else one started on first use
// and stopped by [Main]. Tests take a database of their own from
// [Postgres.NewDatabase] (or [PostgresDB]); a test that stops or kills the
// server uses [NewPostgres].
func SharedPostgres(tb testing.TB) *Postgres {
	tb.Helper()
	return sharedPostgres.get(tb, func() (*Postgres, error) {
		if p, err := externalPostgres(); p != nil || err != nil {
			return p, err
		}
		p, err := startPostgres(PostgresOptions{}, "NewPostgres")
		if err != nil {
			return nil, err
		}
		p.shared = true
		atTeardown(p.close)
		return p, nil
	})
}

// PostgresDB is SharedPostgres(tb).NewDatabase(tb): the URL of an empty
// database for tb on the shared server, dropped when tb ends.
func PostgresDB(tb testing.TB) string {
	tb.Helper()
	return SharedPostgres(tb).NewDatabase(tb)
}

// SharedMemcached returns the memcached server that all tests of this binary
// share: the one [EnvMemcachedAddr] names, or else one started on first use
// and stopped by [Main]. A test that needs an empty or breakable server
// uses [NewMemcached].
func SharedMemcached(tb testing.TB) *Memcached {
	tb.Helper()
	return sharedMemcached.get(tb, func() (*Memcached, error) {
		if m := externalMemcached(); m != nil {
			return m, nil
		}
		m, err := startMemcached(MemcachedOptions{}, "NewMemcached")
		if err != nil {
			return nil, err
		}
		m.shared = true
		atTeardown(m.close)
		return m, nil
	})
}
