// Package memcached is a bytes store on memcached (dogpile's memcached
// backends), through github.com/bradfitz/gomemcache, with a distributed
// creation lock.
//
// Entries are stored as [backend.MarshalRecord] records, encoded by the
// region with the store's serializer ([serializer.Default] unless told
// otherwise). Keys that memcached cannot take (over 250 bytes with the key
// prefix, or holding spaces, control characters or bytes outside ASCII) are
// replaced by their SHA-1 through the store's [Store.KeyMangler]. TTLs are
// rounded up to whole seconds, and those over 30 days are sent as the Unix
// time they end at, as memcached reads them.
//
// The creation lock ([Store.Mutex]) is an item taken with add, holding the
// handle's random owner token and expiring after the lock timeout, so that a
// crashed holder frees it; a live holder renews it every third of the
// timeout, and only the owner can release it (gets, then a compare-and-swap
// to an item that expires at once).
//
// The store keeps tag versions ([backend.TagStore], [backend.TaggedGetter])
// in two items per tag, on one server: "_tagv" + tag, a decimal version that
// a bump raises with incr, and "_tagp" + tag, the owners holding the tag
// pending with the end of each one's lease (by [Options.Clock]), edited with
// gets and compare-and-swap and kept a little past its longest lease. A
// tagged read fetches the marks, the versions and the entry in one
// multi-get, marks before versions. A version the server lost (evicted,
// flushed, restarted) is started again with add at the wall clock's time in
// nanoseconds, and above any version the store has seen; an entry holds a
// version started earlier plus one per bump since, and bumps, each a round
// trip, cannot outrun a nanosecond clock, so a restarted version is one no
// entry holds. Only the clients' clocks are compared, and only at a start:
// they must agree to within the life of a version, as NTP keeps them.
//
// A server that is down shows as errors from the store's calls, each bounded
// by [Options.Timeout]; a region carries on without the cache meanwhile, and
// uses it again once the server is back.
//
//	s, err := memcached.New(memcached.Options{
//		Servers:     []string{"127.0.0.1:11211"},
//		KeyPrefix:   "myapp:",
//		Expiration:  time.Hour,        // storage TTL of every entry
//		LockTimeout: 30 * time.Second, // how long a crashed creator blocks others
//	})
//	if err != nil { … }
//	defer s.Close()
//	users.MustConfigure(region.Config{Backend: s, Expiration: 10 * time.Minute})
//
// It is registered as "memcached", with the arguments url (a list, or
// host:port pairs separated by commas), key_prefix, key_mangling,
// memcached_expire_time, socket_timeout, max_idle_conns, serializer,
// distributed_lock, lock_timeout, lock_wait, lock_wait_max and
// lock_blocking_timeout (durations as Go durations or numbers of seconds):
//
//	users.MustConfigure(region.Config{
//		BackendName: "memcached",
//		Arguments:   backend.Arguments{"url": "10.0.0.1:11211,10.0.0.2:11211", "lock_timeout": 30},
//	})
package memcached
