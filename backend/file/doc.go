// Package file is a bytes store in one file on the local disk, shared by
// every process of the machine that opens it: dogpile's dbm backend, on
// bbolt (go.etcd.io/bbolt), with a creation lock per key that holds across
// processes.
//
// Entries are stored as [backend.MarshalRecord] records, encoded by the
// region with the store's serializer ([serializer.Default] unless told
// otherwise), each with its expiry when written with a TTL: an expired entry
// reads as missing, and writes delete expired entries every
// [Options.PurgeInterval]. Every key fits, the empty one included.
//
// bbolt locks a file opened for writing for as long as it is open, so the
// store keeps nothing open between operations: each one takes the read-write
// lock file's flock (shared to read, exclusive to write), opens the data file
// (read-only to read), runs one transaction and closes it. Many processes
// and goroutines may thus share the file; a single operation costs an open
// and a close of the file besides its transaction, and a write its fsync
// (see [Options.NoSync]). GetMulti, SetMulti and DeleteMulti take one
// transaction each.
//
// The store keeps tag versions ([backend.TagStore], [backend.TaggedGetter])
// in a bucket of their own in the same file: per tag, a version record and a
// record of pending marks (each owner with the end of its lease, by
// [Options.Clock]). Every version given out, a tag's first or a bump, is the
// bucket's next sequence number, which only grows and is kept in the file,
// so a tag whose version record was lost restarts above any version an entry
// can hold. Each call is one transaction: a release with a bump is atomic,
// and [Store.GetTagged] reads the entry and the tags in one read
// transaction (and one write, only to start tags never seen).
//
// The creation lock ([Store.Mutex]) is a flock on one file per key in the
// lock directory. The kernel releases it when its holder's process ends,
// however it ends, so no lock timeout is needed.
//
//	s, err := file.New(file.Options{Filename: "/var/cache/myapp/cache.db"})
//	if err != nil { … }
//	defer s.Close()
//	users.MustConfigure(region.Config{Backend: s, Expiration: 10 * time.Minute})
//
// It is registered as "file", with the arguments filename (required),
// rw_lockfile, lock_dir, distributed_lock, timeout, lock_wait,
// lock_wait_max, lock_blocking_timeout, purge_interval, no_sync and
// serializer (durations as Go durations or numbers of seconds):
//
//	users.MustConfigure(region.Config{
//		BackendName: "file",
//		Arguments:   backend.Arguments{"filename": "/var/cache/myapp/cache.db"},
//	})
package file
