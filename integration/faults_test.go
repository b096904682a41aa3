package integration_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/backend/memcached"
	redisstore "github.com/dogpile-go/dogpile/backend/redis"
	"github.com/dogpile-go/dogpile/integration/harness"
	"github.com/dogpile-go/dogpile/invalidation"
)

// PostgreSQL stopped and started again: while it is down, results in the
// cache are still served and everything else fails with the database's
// error; once it is back, the same DB works again, without reopening.
func TestPostgresStopped(t *testing.T) {
	t.Parallel()
	pg := harness.NewPostgres(t)
	dsn := newItemsDB(t, pg)
	db := connect(t, dsn, newRedisStore(t, harness.SharedRedis(t).URL()), namespace(t))
	wantRead(t, db, 1, 10, false, "first read")
	wantRead(t, db, 1, 10, true, "second read")

	pg.Stop(t)
	wantRead(t, db, 1, 10, true, "a cached result while PostgreSQL is down")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if r, err := tryRead(ctx, db, 2); err == nil {
		t.Fatalf("a read the cache does not hold, while PostgreSQL is down: %+v, want the database's error", r)
	} else {
		t.Logf("a miss while PostgreSQL is down: %v", err)
	}
	if _, err := db.ExecContext(ctx, writeN, 11, 1); err == nil {
		t.Fatal("a write while PostgreSQL is down succeeded")
	}

	pg.Start(t)
	wantRead(t, db, 2, 20, false, "a new read after the restart")
	wantRead(t, db, 1, 10, true, "the cached result after the restart") // the failed write changed nothing
	mustWrite(t, db, 1, 11)
	wantRead(t, db, 1, 11, false, "after a write after the restart")
}

// The listener's connection killed by the server: while it is down, the
// process it guards reads the database (a write it could not hear of
// shows at once); when it has reconnected it invalidates everything, so
// that other processes, which kept serving the cache meanwhile, see the
// write too.
func TestListenerConnectionKilled(t *testing.T) {
	t.Parallel()
	// A fixed pause before reconnecting, long enough for the test to write
	// while the listener is away.
	const pause = 2 * time.Second
	w := newWatchedItems(t, harness.SharedPostgres(t), invalidation.ListenerOptions{
		Backoff: invalidation.Backoff{Min: pause, Max: pause, Jitter: -1},
	})
	wantRead(t, w.db, 1, 10, false, "first read")
	wantRead(t, w.db, 1, 10, true, "second read")
	wantRead(t, w.other, 1, 10, true, "another DB")

	out := w.pg.Psql(t, w.dsn, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "+
		"WHERE application_name = 'dogpile-listener' AND datname = current_database()")
	if out != "t" {
		t.Fatalf("pg_terminate_backend: %q, want one listener terminated", out)
	}
	poll(t, 5*time.Second, "the listener noticing", func() (bool, string) {
		return !w.l.Healthy(), "still healthy"
	})
	w.pg.Psql(t, w.dsn, "UPDATE items SET n = 11 WHERE id = 1") // its notification is lost
	if s := w.l.Stats(); s.Connects != 1 {
		t.Fatalf("the listener reconnected before the write (%+v): the test wrote too late to prove anything", s)
	}
	wantRead(t, w.db, 1, 11, false, "the guarded DB while its listener is down")
	wantRead(t, w.other, 1, 10, true, "another process while no listener is up") // as documented: the bypass is the listener's process's alone

	poll(t, 10*time.Second, "the listener reconnecting", func() (bool, string) {
		s := w.l.Stats()
		return s.Healthy && s.Reconnects == 1, fmt.Sprintf("%+v", s)
	})
	wantRead(t, w.other, 1, 11, false, "another process after the listener reconnected")
	wantRead(t, w.db, 1, 11, true, "the guarded DB after its listener reconnected")
}

// fastFailRedisStore is a store on r whose client does not retry: with
// go-redis's defaults (3 retries, 5 dial attempts each) every call to a
// Redis that refuses connections takes 0.1 to 2 seconds, and a query,
// which makes several, up to 8 seconds. The library's behaviour is the
// same either way; only the test's run time is not.
func fastFailRedisStore(t *testing.T, r *harness.Redis) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(redisstore.Options{Universal: &goredis.UniversalOptions{
		Addrs: []string{r.Addr()}, MaxRetries: -1, DialerRetries: 1,
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Redis stopped and started again: no query fails (the default falls back
// to the database), the region counts the store's errors, a write made
// meanwhile is never hidden by the cache, and the cache is used again once
// Redis is back, without reopening anything.
func TestRedisStopped(t *testing.T) {
	t.Parallel()
	r := harness.NewRedis(t, harness.RedisOptions{})
	dsn := newItemsDB(t, harness.SharedPostgres(t))
	db := connect(t, dsn, fastFailRedisStore(t, r), namespace(t))
	wantRead(t, db, 1, 10, false, "first read")
	wantRead(t, db, 1, 10, true, "second read")
	errs := stats(db).BackendErrors

	r.Stop(t)
	start := time.Now()
	wantRead(t, db, 1, 10, false, "while Redis is down")
	mustWrite(t, db, 1, 11)
	wantRead(t, db, 1, 11, false, "after a write while Redis is down")
	t.Logf("three queries while Redis was down took %v", time.Since(start).Round(time.Millisecond))
	if s := stats(db); s.BackendErrors <= errs {
		t.Fatalf("no backend error counted while Redis was down: %s", describe(s))
	}

	r.Start(t) // empty
	took := poll(t, 15*time.Second, "the cache serving again", func() (bool, string) {
		got := mustRead(t, db, 1)
		if got.N != 11 {
			t.Fatalf("read %d after Redis came back, want 11", got.N)
		}
		return got.Hit, describe(stats(db))
	})
	t.Logf("hits again %v after Redis came back", took.Round(time.Millisecond))
}

// Redis out of memory (maxmemory below what it holds, noeviction): every
// write to the store fails, queries do not, a write is seen at once by
// another process sharing the store although its invalidation cannot land,
// and the cache is used again once Redis has room.
func TestRedisOutOfMemory(t *testing.T) {
	t.Parallel()
	r := harness.NewRedis(t, harness.RedisOptions{MaxMemoryPolicy: "noeviction"})
	dsn := newItemsDB(t, harness.SharedPostgres(t))
	ns := namespace(t)
	db := connect(t, dsn, newRedisStore(t, r.URL()), ns)
	other := connect(t, dsn, newRedisStore(t, r.URL()), ns)
	client := goredis.NewClient(&goredis.Options{Addr: r.Addr()})
	defer client.Close()
	ctx := context.Background()

	wantRead(t, db, 1, 10, false, "first read")
	wantRead(t, other, 1, 10, true, "another DB")
	// Two megabytes of other data, then a limit of one: Redis refuses
	// every write from now on, however small.
	filler := strings.Repeat("x", 16<<10)
	for i := range 128 {
		if err := client.Set(ctx, fmt.Sprintf("filler:%d", i), filler, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := client.ConfigSet(ctx, "maxmemory", "1mb").Err(); err != nil {
		t.Fatal(err)
	}
	if err := client.Set(ctx, "probe", "x", 0).Err(); err == nil || !strings.HasPrefix(err.Error(), "OOM") {
		t.Fatalf("a write to Redis over its maxmemory: %v, want OOM", err)
	}

	errs := stats(db).BackendErrors
	wantRead(t, db, 2, 20, false, "first read, Redis out of memory")
	wantRead(t, db, 2, 20, false, "second read, Redis out of memory") // the first could not be stored
	mustWrite(t, db, 1, 11)
	wantRead(t, db, 1, 11, false, "after a write, Redis out of memory")
	wantRead(t, other, 1, 11, false, "another DB after the write, Redis out of memory")
	if s := stats(db); s.BackendErrors <= errs {
		t.Fatalf("no backend error counted while Redis refused writes: %s", describe(s))
	}

	if err := client.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	poll(t, 15*time.Second, "the cache serving again", func() (bool, string) {
		got := mustRead(t, other, 1)
		if got.N != 11 {
			t.Fatalf("read %d after Redis had room again, want 11", got.N)
		}
		return got.Hit, fmt.Sprintf("%s; %d invalidations owed", describe(stats(other)), db.Tags().Owed())
	})
}

// memcached killed and started again: no query fails, the store's errors
// are counted, and the cache is used again once memcached is back.
func TestMemcachedKilled(t *testing.T) {
	t.Parallel()
	m := harness.NewMemcached(t)
	dsn := newItemsDB(t, harness.SharedPostgres(t))
	store, err := memcached.New(memcached.Options{Servers: []string{m.Addr()}})
	db := connect(t, dsn, closing(t, store, err), namespace(t))
	wantRead(t, db, 1, 10, false, "first read")
	wantRead(t, db, 1, 10, true, "second read")
	errs := stats(db).BackendErrors

	m.Kill(t)
	start := time.Now()
	wantRead(t, db, 1, 10, false, "while memcached is down")
	mustWrite(t, db, 1, 11)
	wantRead(t, db, 1, 11, false, "after a write while memcached is down")
	t.Logf("three queries while memcached was down took %v", time.Since(start).Round(time.Millisecond))
	if s := stats(db); s.BackendErrors <= errs {
		t.Fatalf("no backend error counted while memcached was down: %s", describe(s))
	}

	m.Start(t) // empty
	poll(t, 15*time.Second, "the cache serving again", func() (bool, string) {
		got := mustRead(t, db, 1)
		if got.N != 11 {
			t.Fatalf("read %d after memcached came back, want 11", got.N)
		}
		return got.Hit, describe(stats(db))
	})
}
