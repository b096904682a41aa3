// Package testenv starts real servers — PostgreSQL, Redis (single, Cluster,
// Sentinel) and memcached — from the binaries installed on this machine, on
// free loopback ports, for tests; and gives tests control over them (stop,
// start, kill, pause) to inject faults. It is imported by test code only.
//
// Every package that uses it runs its tests under [Main]:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		db, err := sql.Open("pgx", testenv.PostgresDB(t)) // a fresh database on the shared server
//		...
//		rdb := redis.NewClient(&redis.Options{Addr: testenv.SharedRedis(t).Addr()})
//		...
//		testenv.Psql(t, dsn, "UPDATE items SET n = n + 1") // a write the code under test never saw
//	}
//
//	func TestRedisGoesAway(t *testing.T) {
//		r := testenv.NewRedis(t, testenv.RedisOptions{}) // this test's own
//		...
//		r.Kill(t)  // as a crash would
//		...
//		r.Start(t) // same port, empty
//	}
//
// # Shared and private servers
//
// The Shared… functions ([SharedPostgres], [SharedRedis],
// [SharedRedisCluster], [SharedRedisSentinel], [SharedMemcached]) return one
// server per test binary, started by the first test that asks and stopped
// by [Main] after the last; tests share it, so they keep to databases
// ([Postgres.NewDatabase]) or keys of their own, and may not stop or kill
// it. The New… functions ([NewPostgres], [NewRedis], [NewRedisCluster],
// [NewRedisSentinel], [NewMemcached]) start a server for one test, which
// it may break at will; it is removed when that test ends.
//
// # Servers die with the test binary
//
// Each server process is started with a parent-death signal (SIGKILL), from
// one OS thread that lives as long as the test binary, so no server
// outlives it — whether it returns from Main, panics, times out or is
// killed. The files of a binary that could not clean up are removed by the
// next one.
//
// # Missing binaries, and servers from elsewhere
//
// scripts/test-deps.sh installs what is missing. A test that needs a
// binary this machine lacks is skipped, saying what is missing; when the
// environment variable CI is set (non-empty), it fails instead, so a broken
// install step never passes CI as a skipped test.
//
// The Shared… functions use an already-running server instead when an
// environment variable names one: [EnvPostgresURL], [EnvRedisAddr],
// [EnvRedisClusterAddrs], [EnvRedisSentinelAddrs] with
// [EnvRedisSentinelMaster], [EnvMemcachedAddr]. Such a server cannot be
// stopped or killed; the New… functions always start their own.
//
// # Speed
//
// PostgreSQL runs initdb once per test binary, with --no-sync, and every
// server starts from a copy, with fsync, synchronous_commit and
// full_page_writes off. Redis runs with no persistence. Start-up waits for
// the server to answer, at most [StartTimeout]; on failure the error holds
// the end of the server's log.
package testenv
