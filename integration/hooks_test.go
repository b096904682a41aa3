package integration_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/cachedsql"
	"github.com/dogpile-go/dogpile/integration/harness"
)

// Commit hooks on Redis: AfterCommit runs once the commit's invalidation
// is done (a read in the hook sees the write), AfterRollback instead of it
// on rollback, a panicking hook is reported and spoils nothing, and
// RefreshAfterCommit re-creates a result in the background, so that the
// next reader, in this process or another, finds it fresh in the cache.
func TestCommitHooksOnRedis(t *testing.T) {
	t.Parallel()
	dsn := newItemsDB(t, harness.SharedPostgres(t))
	url := harness.SharedRedis(t).URL()
	ns := namespace(t)
	var reported errorLog
	db := connect(t, dsn, newRedisStore(t, url), ns, cachedsql.WithErrorHandler(reported.add))
	other := connect(t, dsn, newRedisStore(t, url), ns)

	wantRead(t, db, 1, 10, false, "first read")
	wantRead(t, db, 1, 10, true, "second read")

	t.Run("AfterCommit", func(t *testing.T) {
		tx := db.MustBegin()
		tx.MustExec(writeN, 11, 1)
		var order []string
		var inHook read
		tx.AfterCommit(func(ctx context.Context) {
			order = append(order, "commit 1")
			var err error
			if inHook, err = tryRead(ctx, db, 1); err != nil {
				t.Errorf("read in the commit hook: %v", err)
			}
		})
		tx.AfterCommit(func(context.Context) { panic("a hook that fails") })
		tx.AfterCommit(func(context.Context) { order = append(order, "commit 3") })
		tx.AfterRollback(func(context.Context) { order = append(order, "rollback") })
		if err := tx.Commit(); err != nil {
			t.Fatalf("Commit with a panicking hook: %v", err)
		}
		// The hooks ran on this goroutine, before Commit returned.
		if len(order) != 2 || order[0] != "commit 1" || order[1] != "commit 3" {
			t.Fatalf("hooks ran: %q, want the two commit hooks that do not panic, in order", order)
		}
		if inHook.N != 11 || inHook.Hit {
			t.Fatalf("read in the commit hook = %+v, want 11 from the database: the invalidation was not done", inHook)
		}
		if n := reported.count(cachedsql.ErrHook); n != 1 {
			t.Fatalf("%d hook failures reported, want 1", n)
		}
		wantRead(t, other, 1, 11, true, "another DB after the commit") // the hook's read cached it
	})

	t.Run("AfterRollback", func(t *testing.T) {
		tx := db.MustBegin()
		tx.MustExec(writeN, 99, 1)
		var committed, rolledBack bool
		tx.AfterCommit(func(context.Context) { committed = true })
		tx.AfterRollback(func(context.Context) { rolledBack = true })
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		if committed || !rolledBack {
			t.Fatalf("after Rollback: commit hook ran %v, rollback hook ran %v", committed, rolledBack)
		}
		wantRead(t, db, 1, 11, true, "after rollback")
	})

	t.Run("RefreshAfterCommit", func(t *testing.T) {
		wantRead(t, db, 2, 20, false, "first read")
		tx := db.MustBegin()
		tx.MustExec(writeN, 21, 2)
		tx.RefreshAfterCommit(db.RefreshQuery(readN, 2))
		created := stats(db).Created
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		poll(t, 10*time.Second, "the refresh after commit", func() (bool, string) {
			s := stats(db)
			return s.Created > created, describe(s)
		})
		if n := reported.count(nil); n != 1 { // the panicking hook's
			t.Fatalf("%d failures reported, want only the panicking hook's: %v", n, errors.Join(reported.errs...))
		}
		wantRead(t, db, 2, 21, true, "after the refresh")
		wantRead(t, other, 2, 21, true, "another DB after the refresh")
	})
}
