// Package harness gives the end-to-end tests of package integration their
// servers — PostgreSQL, Redis, Redis Cluster and memcached — either as
// containers (testcontainers-go) when a container engine answers, or as
// local server binaries (internal/testenv) otherwise, and says which it
// picked.
//
//	func TestMain(m *testing.M) { harness.Main(m) } // picks, logs the choice, runs
//
//	func TestSomething(t *testing.T) {
//		pg := harness.SharedPostgres(t)
//		dsn := pg.NewDatabase(t)          // an empty database of t's own
//		r := harness.SharedRedis(t)       // keep to keys of your own
//		pg.Psql(t, dsn, "UPDATE items …") // a write no cachedsql.DB sees
//	}
//
//	func TestFault(t *testing.T) {
//		r := harness.NewRedis(t, harness.RedisOptions{}) // t's own, breakable
//		r.Stop(t)
//		r.Start(t) // same address, empty
//	}
//
// # How it picks
//
// [Main] asks [Choose], with [ProbeContainerEngine]: testcontainers' provider
// is made and its health checked (the engine's info endpoint), all within
// [ProbeTimeout]. An engine that answers means [Containers], anything else
// (no socket, no daemon behind it, no answer in time) means
// [LocalBinaries], with the reason. [EnvServers] forces either. The choice
// is printed once, on standard error, before the tests run:
//
//	integration: using testcontainers (docker at unix:///var/run/docker.sock)
//	integration: using local server binaries (no container engine: …)
//
// With containers, a server whose container cannot be started (an image
// that cannot be pulled, say) comes from local binaries instead, and the
// test logs why. Redis Cluster always comes from local binaries (or from
// DOGPILE_TEST_REDIS_CLUSTER_ADDRS): a cluster's nodes announce addresses a
// client outside the container network cannot reach.
//
// # When nothing works
//
// Local binaries follow testenv's rule: a missing binary skips the test,
// saying what is missing, and fails it when the environment variable CI is
// set, so a broken install never passes CI as a skip.
//
// # Fault injection
//
// The New… servers belong to one test, which may Stop, Start and Kill them;
// a server comes back on the same address. On local binaries that is
// testenv's process control. With containers it is the container's Stop and
// Start, with the host port pinned so that the address survives a restart;
// where it cannot be pinned (the engine publishes ports on another host),
// the New… servers come from local binaries.
package harness
