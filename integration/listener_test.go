package integration_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/cachedsql"
	"github.com/dogpile-go/dogpile/integration/harness"
	"github.com/dogpile-go/dogpile/invalidation"
	"github.com/dogpile-go/dogpile/migrations"
)

// watchedItems is the items table with dogpile's triggers on it, a DB on
// Redis guarded by a Listener, and another DB of the same namespace (a
// process without a listener of its own).
type watchedItems struct {
	pg        *harness.Postgres
	dsn       string
	db, other *cachedsql.DB
	l         *invalidation.Listener
}

func newWatchedItems(t *testing.T, pg *harness.Postgres, o invalidation.ListenerOptions) *watchedItems {
	t.Helper()
	w := &watchedItems{pg: pg, dsn: newItemsDB(t, pg)}
	sqlDB, err := sql.Open("pgx", w.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := migrations.Up(ctx, sqlDB); err != nil {
		t.Fatalf("migrations.Up: %v", err)
	}
	if err := migrations.Watch(ctx, sqlDB, "items"); err != nil {
		t.Fatalf("migrations.Watch: %v", err)
	}
	url := harness.SharedRedis(t).URL()
	ns := namespace(t)
	w.db = connect(t, w.dsn, newRedisStore(t, url), ns)
	w.other = connect(t, w.dsn, newRedisStore(t, url), ns)

	o.ConnString, o.Tags, o.TagsOf = w.dsn, w.db.Tags(), invalidation.CachedSQLTags(ns)
	if w.l, err = invalidation.NewListener(o); err != nil {
		t.Fatal(err)
	}
	if err := w.l.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.l.Close(); err != nil {
			t.Errorf("Listener.Close: %v", err)
		}
	})
	if err := w.l.WaitHealthy(ctx); err != nil {
		t.Fatalf("the listener did not get healthy: %v", err)
	}
	return w
}

// The listener: a write made through psql, which no cachedsql.DB sees,
// reaches the cached reads of the DB it guards, and, through Redis, those
// of another process's DB.
func TestListenerSeesPsqlWrites(t *testing.T) {
	t.Parallel()
	w := newWatchedItems(t, harness.SharedPostgres(t), invalidation.ListenerOptions{})

	wantRead(t, w.db, 1, 10, false, "first read")
	wantRead(t, w.db, 1, 10, true, "second read")
	wantRead(t, w.other, 1, 10, true, "another DB")

	w.pg.Psql(t, w.dsn, "UPDATE items SET n = 11 WHERE id = 1")
	lag := poll(t, 10*time.Second, "the psql write reaching the cache", func() (bool, string) {
		r := mustRead(t, w.db, 1)
		return r.N == 11, "still reads the cached 10"
	})
	t.Logf("the psql write reached the cache %v after psql returned", lag.Round(time.Millisecond))
	wantRead(t, w.other, 1, 11, true, "another DB, after the listener's bump") // the poll's last read cached 11
	if s := w.l.Stats(); s.Notifications < 1 || s.Applied < 1 {
		t.Fatalf("listener stats: %+v, want a notification applied", s)
	}
}
