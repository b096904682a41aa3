// Package invalidation keeps cached values consistent with writes: the
// two-phase tag protocol that the SQL layer drives on every write ([Tags],
// [WriteSet]), the listener that turns PostgreSQL change notifications into
// tag bumps, and a region invalidation strategy shared through the backend.
//
// # Tags and write sets
//
// A cached value records the versions of its tags (the tables it read) and
// is valid only while they are unchanged (see backend.TagStore). A writer
// takes a [WriteSet] per transaction: at the first write to a tag it marks
// the tag pending, so that no process serves or fills values with that tag
// while the transaction may commit; after the commit it bumps the tag and
// clears the mark in one step, before the commit returns to its caller; on
// rollback it only clears the mark. So every read that begins after Commit
// returned sees the write, and no reader can fill the cache with rows from
// before it.
//
//	tags, err := invalidation.NewTags(store, invalidation.Options{})
//	r.MustConfigure(region.Config{Backend: tags}) // the region sees tags this process owes as pending
//
//	ws := tags.Begin()
//	_ = ws.Touch(ctx, "app:t:public.orders") // before the first write
//	… write, commit …
//	_ = ws.Commit(ctx) // bump and release; retried in the background if the store is away
//
// A bump that fails (the store is unreachable) is retried until it
// succeeds; meanwhile this process treats the tag as pending (it bypasses
// the cache for it), and other processes keep seeing the mark, whose lease
// the retry keeps renewing. Marks of a writer that died lapse after their
// lease.
//
// # Writes the program never saw
//
// [Listener] turns PostgreSQL change notifications (sent by the trigger that
// package migrations installs on watched tables, atomically with each
// commit) into bumps of the tables' tags. On every (re)connection it
// LISTENs first and then invalidates everything it guards, and only then
// reports healthy, so a write committed while it was away is never lost;
// while it is unhealthy this process bypasses the cache for the tags it
// guards (unless told to keep serving).
//
//	l, err := invalidation.NewListener(invalidation.ListenerOptions{
//		ConnString: dsn,
//		Tags:       db.Tags(), // a cachedsql.DB's
//		TagsOf:     invalidation.CachedSQLTags("cachedsql"),
//	})
//	l.Start()
//	defer l.Close()
//
// # Region-wide invalidation across processes
//
// region.Invalidate is local to a process by default, as in dogpile; the
// shared strategy in this package keeps the invalidation times in the
// backend so that every process honours them.
package invalidation
