// Package tiered is a two-tier store: a bounded in-process near tier (a
// serialized [memory.Store]) in front of a Redis far tier (a [redis.Store]),
// kept coherent across processes by invalidation messages over Redis
// pub/sub. A hit in the near tier costs no round trip and no transfer of
// the payload.
//
//	store, err := tiered.New(tiered.Options{
//		Redis:    &redis.Options{URL: "redis://localhost:6379/0", KeyPrefix: "app:"},
//		MaxBytes: 128 << 20,
//	})
//	if err != nil { … }
//	defer store.Close()
//	r := region.New("users")
//	r.MustConfigure(region.Config{Backend: store, Expiration: time.Minute})
//
// It is a bytes store with every capability of the Redis store: reads look
// near first, then in Redis (and keep what they found near); writes and
// deletes go to Redis first, then near, then publish the keys on the
// store's channel (one per key prefix), so that other processes drop their
// near copies; multi-key calls take one round trip for the keys not held
// near; creation locks are Redis's. It is registered as "redis_tiered",
// taking the arguments of "redis" plus near_max_bytes, near_max_entries,
// near_ttl, coherence, max_tag_age, ping_every and channel.
//
// # Coherence of untagged entries
//
// A write in one process reaches the near copies of the others when its
// message does: staleness is bounded by the pub/sub delivery delay, which
// between two clients of a loopback Redis measured 66µs at the median and
// 170µs at the 99th percentile over 1,000 messages (TestDeliveryLatency; on
// a network, add about one one-way trip). Within a process nothing is
// stale: a write updates the near tier before it returns, and a read that
// races a write or a message never keeps what it read (see [Store]). A
// message that is never sent (the writer's PUBLISH failed after its write:
// the write returns [ErrNotPublished]) leaves other processes' copies in
// place for at most Options.NearTTL; a subscription that dies without an
// error (a hung server, a silent network) leaves them in place until the
// unanswered ping gives it away, at most twice Options.PingEvery.
//
// # Coherence of tagged entries
//
// The SQL layer's promise is that no read that begins after a commit
// returned sees data from before it, in any process. A tagged entry is
// valid while its recorded tag versions are current, and a commit bumps
// the versions in Redis before it returns; so, in [Strict] coherence (the
// default), a near hit of a tagged entry is served only after its recorded
// versions have been checked against the tag states read from Redis then,
// in one round trip that carries a few bytes per tag and no payload. Where
// the near copy came from does not matter: it is an entry that was valid
// when stored, and the check is the same one a read from Redis gets. The
// near tier then saves the payload's transfer (the region still decodes
// it), and the guarantee is kept exactly: a bump in one process makes the next near hit
// in every other process a miss, with no wait for a message.
//
// In [Bounded] coherence tag states are cached in the process too, dropped
// by the messages that every tag operation (bump, mark, release) publishes
// and never used once older than Options.MaxTagAge (default 1s): a near hit
// of a tagged entry then costs no round trip at all. The price is that a
// commit in another process is seen only when its message arrives: a read
// may return data from before a commit for as long as the message takes
// (the delivery delay above), and never for longer than MaxTagAge, whatever
// happens to the messages. Choose it where that bound is acceptable.
//
// # A lost subscription
//
// Messages sent while a process is not subscribed are lost to it, so the
// near tier is only used while the subscription is live ([Store.Healthy]).
// When the subscription fails (a connection error, or a ping on it left
// unanswered for Options.PingEvery) the near tier and the cached tag states
// are emptied and bypassed: reads and writes go to Redis alone, and fail
// as Redis's do, which a region turns into misses. The store subscribes
// again in the background, with a backoff, and empties the near tier once
// more when the server confirms, since messages were missed in between.
package tiered
