package testenv

import (
	"os"
	"strings"
)

// Environment variables that name an already-running server for the Shared…
// functions to return instead of starting one. The New… functions, whose
// servers tests stop and kill, always start their own.
const (
	// EnvPostgresURL names a PostgreSQL server by a URL such as
	// postgres://user:pass@host:5432/postgres?sslmode=disable. Its user must
	// be allowed to create databases, for [Postgres.NewDatabase].
	EnvPostgresURL = "DOGPILE_TEST_POSTGRES_URL"

	// EnvRedisAddr names a Redis server as host:port, or as a URL
	// (redis://:password@host:port) when it needs a password.
	EnvRedisAddr = "DOGPILE_TEST_REDIS_ADDR"

	// EnvRedisClusterAddrs names Redis Cluster nodes as comma-separated
	// host:port pairs.
	EnvRedisClusterAddrs = "DOGPILE_TEST_REDIS_CLUSTER_ADDRS"

	// EnvRedisSentinelAddrs names Redis Sentinels as comma-separated
	// host:port pairs; EnvRedisSentinelMaster must name their master.
	EnvRedisSentinelAddrs = "DOGPILE_TEST_REDIS_SENTINEL_ADDRS"

	// EnvRedisSentinelMaster is the master name the sentinels of
	// EnvRedisSentinelAddrs monitor.
	EnvRedisSentinelMaster = "DOGPILE_TEST_REDIS_SENTINEL_MASTER"

	// EnvMemcachedAddr names a memcached server as host:port.
	EnvMemcachedAddr = "DOGPILE_TEST_MEMCACHED_ADDR"
)

// envList splits a comma-separated variable, dropping empty items.
func envList(name string) []string {
	var out []string
	for _, s := range strings.Split(os.Getenv(name), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
