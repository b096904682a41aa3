// Package redis is the Redis store, on go-redis v9 through
// redis.UniversalClient, so one store serves a single node, Sentinel and
// Cluster. It is a bytes store (values are encoded by the region's
// serializer, CBOR by default) and offers every optional capability:
// multi-key operations in one round trip (one per node on a Cluster), TTLs,
// and a creation lock that spans processes.
//
//	store, err := redis.New(redis.Options{URL: "redis://localhost:6379/0"})
//	r := region.New("users")
//	r.MustConfigure(region.Config{Backend: store, Expiration: time.Minute, StoreTTL: time.Hour})
//
// # The creation lock
//
// The lock is SET key token NX PX timeout, with a random token per handle.
// Only the owner releases it (a compare-and-delete script), and while the
// owner holds it a goroutine extends it every third of the timeout, so a
// creator that runs longer than the timeout keeps its lock (dogpile's Redis
// lock is lost then), while a crashed one frees it after the timeout.
// Waiters poll with a jittered backoff.
//
// # Registered names
//
// "redis" (url, or host/port/db/password/username), "redis_sentinel"
// (sentinels, service_name, db, password, sentinel_password), and
// "redis_cluster" (url or startup_nodes, password), each with
// distributed_lock, lock_timeout, lock_sleep, lock_blocking_timeout,
// redis_expiration_time, key_prefix, lock_prefix, serializer, as in
// dogpile where they make sense in Go.
package redis
