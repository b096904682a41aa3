package integration_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/dogpile-go/dogpile/backend"
	redisstore "github.com/dogpile-go/dogpile/backend/redis"
	"github.com/dogpile-go/dogpile/cachedsql"
	"github.com/dogpile-go/dogpile/integration/harness"
	"github.com/dogpile-go/dogpile/region"
)

// The table every test reads and writes: items(id, name, n), rows 1, 2
// and 3 with n = 10, 20, 30.
const (
	createItems = `CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, n int NOT NULL);
INSERT INTO items VALUES (1, 'one', 10), (2, 'two', 20), (3, 'three', 30);`
	readN  = "SELECT n FROM items WHERE id = $1"
	writeN = "UPDATE items SET n = $1 WHERE id = $2"
)

type item struct {
	ID   int    `db:"id"`
	Name string `db:"name"`
	N    int    `db:"n"`
}

// newItemsDB creates a database with the items table on pg and returns its
// URL.
func newItemsDB(t *testing.T, pg *harness.Postgres) string {
	t.Helper()
	dsn := pg.NewDatabase(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(createItems); err != nil {
		t.Fatal(err)
	}
	return dsn
}

// namespace returns a cache namespace of the test's own, so that tests
// sharing a store keep out of each other's keys and tags.
func namespace(t *testing.T) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	return "it-" + name + "-" + hex.EncodeToString(b)
}

// errorLog collects what a DB reports to its error handler.
type errorLog struct {
	mu   sync.Mutex
	errs []error // guarded by mu
}

func (l *errorLog) add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

func (l *errorLog) count(target error) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, err := range l.errs {
		if target == nil || errors.Is(err, target) {
			n++
		}
	}
	return n
}

// connect opens a cachedsql.DB on dsn caching in store under ns; the DB,
// not the store, is closed when t ends (close the store after it).
func connect(t *testing.T, dsn string, store backend.Backend, ns string, opts ...cachedsql.Option) *cachedsql.DB {
	t.Helper()
	opts = append([]cachedsql.Option{cachedsql.WithBackend(store), cachedsql.WithNamespace(ns)}, opts...)
	db, err := cachedsql.Connect("pgx", dsn, opts...)
	if err != nil {
		t.Fatalf("cachedsql.Connect: %v", err)
	}
	t.Cleanup(func() { closeWithin(t, db, 15*time.Second) })
	return db
}

// closeWithin closes db, giving up on it after d. DB.Close retries the
// invalidations still owed with no bound while the store refuses them (a
// test that failed with Redis down, say); the store, closed next, ends the
// retry.
func closeWithin(t *testing.T, db *cachedsql.DB, d time.Duration) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		db.Close()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Errorf("DB.Close did not return within %v (%d invalidations owed); left behind", d, db.Tags().Owed())
	}
}

// newRedisStore opens a store on the Redis at url, closed when t ends
// (after the DBs on it, which were opened later).
func newRedisStore(t *testing.T, url string) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(redisstore.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// read is one read of n through db, and whether the cache answered it.
type read struct {
	N   int
	Hit bool
}

// mustRead reads item id's n through db and says whether it was a hit (the
// region counted one); it fails t on an error.
func mustRead(t *testing.T, db *cachedsql.DB, id int) read {
	t.Helper()
	r, err := tryRead(context.Background(), db, id)
	if err != nil {
		t.Fatalf("read item %d: %v", id, err)
	}
	return r
}

func tryRead(ctx context.Context, db *cachedsql.DB, id int) (read, error) {
	before := db.Region().Stats().Hits
	var n int
	err := db.GetContext(ctx, &n, readN, id)
	return read{N: n, Hit: db.Region().Stats().Hits > before}, err
}

// wantRead checks a read: its value, and whether it came from the cache.
func wantRead(t *testing.T, db *cachedsql.DB, id, n int, hit bool, what string) {
	t.Helper()
	got := mustRead(t, db, id)
	if got.N != n || got.Hit != hit {
		t.Fatalf("%s: read item %d = %d (hit %v), want %d (hit %v)", what, id, got.N, got.Hit, n, hit)
	}
}

func mustWrite(t *testing.T, db *cachedsql.DB, id, n int) {
	t.Helper()
	if _, err := db.Exec(writeN, n, id); err != nil {
		t.Fatalf("write item %d = %d: %v", id, n, err)
	}
}

// poll calls cond until it reports done, failing t with cond's last word
// after timeout. Tests wait for conditions this way, never by sleeping a
// guessed time.
func poll(t *testing.T, timeout time.Duration, what string, cond func() (done bool, status string)) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		done, status := cond()
		if done {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("%s: not after %v: %s", what, timeout, status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stats is a region's counters, for messages.
func stats(db *cachedsql.DB) region.Stats { return db.Region().Stats() }

func describe(s region.Stats) string {
	return fmt.Sprintf("hits %d, misses %d, created %d, backend errors %d", s.Hits, s.Misses, s.Created, s.BackendErrors)
}
