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
package invalidation
