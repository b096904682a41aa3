// Command quickstart puts the cache in front of a SQL database and shows
// what it does: reads served from the cache, a write that invalidates them,
// a transaction that refreshes a cached query after its commit, and a
// stampede of goroutines served by one query.
//
//	go run ./examples/quickstart
//
// It needs nothing installed: by default it runs on SQLite (a file in a
// temporary directory, removed at exit) with the cache in process memory.
// With DATABASE_URL set it runs on that PostgreSQL database (through pgx;
// it creates, and drops at exit, a table quickstart_users), and with
// REDIS_URL set too, with the cache in that Redis:
//
//	DATABASE_URL=postgres://localhost/app REDIS_URL=redis://localhost:6379/0 go run ./examples/quickstart
//
// # Output
//
// On the default, SQLite and the memory store:
//
//	database: SQLite (a file in a temporary directory); cache: process memory
//	1. cached reads
//	   user 1 is Ada (the database ran the query)
//	   user 1 is Ada (served from the cache)
//	   cache: 1 hits, 1 misses, 1 created
//	2. a write behind the cache's back is not seen
//	   db.Inner().Exec: user 1 renamed Ada Lovelace, past the cache
//	   user 1 is Ada (served from the cache)
//	3. a write through the DB invalidates what it touched
//	   db.Exec: user 1 renamed Ada King
//	   user 1 is Ada King (the database ran the query)
//	4. a transaction refreshes a cached query after its commit
//	   user 2 is Grace (the database ran the query)
//	   tx: user 2 renamed Grace Hopper; commit
//	   the refresh ran in the background, after the commit
//	   user 2 is Grace Hopper (served from the cache)
//	5. a stampede: 100 goroutines ask for the same uncached query at once
//	   each got 3 users; the database ran the query 1 time
//	in all: 107 cache lookups, 5 queries on the database
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"sync"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	_ "modernc.org/sqlite"             // driver "sqlite", pure Go

	"github.com/dogpile-go/dogpile/backend/redis"
	"github.com/dogpile-go/dogpile/cachedsql"
)

func main() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// open connects to PostgreSQL at DATABASE_URL, or else to SQLite in a new
// temporary directory; with REDIS_URL it caches in Redis. done closes the
// DB and removes what open made.
func open(w io.Writer) (db *cachedsql.DB, done func(), err error) {
	var opts []cachedsql.Option
	cache := "process memory"
	if url := os.Getenv("REDIS_URL"); url != "" {
		store, err := redis.New(redis.Options{URL: url})
		if err != nil {
			return nil, nil, err
		}
		opts = append(opts, cachedsql.WithBackend(store)) // the DB closes it
		cache = "Redis at REDIS_URL"
	}
	if url := os.Getenv("DATABASE_URL"); url != "" {
		fmt.Fprintf(w, "database: PostgreSQL at DATABASE_URL; cache: %s\n", cache)
		db, err := cachedsql.Connect("pgx", url, opts...)
		if err != nil {
			return nil, nil, err
		}
		return db, func() { db.Close() }, nil
	}
	fmt.Fprintf(w, "database: SQLite (a file in a temporary directory); cache: %s\n", cache)
	dir, err := os.MkdirTemp("", "dogpile-quickstart-*")
	if err != nil {
		return nil, nil, err
	}
	dsn := filepath.Join(dir, "app.db") + "?_pragma=busy_timeout(5000)"
	db, err = cachedsql.Connect("sqlite", dsn, opts...)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return db, func() { db.Close(); os.RemoveAll(dir) }, nil
}

func run(w io.Writer) error {
	ctx := context.Background()
	db, done, err := open(w)
	if err != nil {
		return err
	}
	defer done()
	for _, stmt := range []string{
		"DROP TABLE IF EXISTS quickstart_users",
		"CREATE TABLE quickstart_users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
		"INSERT INTO quickstart_users (id, name) VALUES (1, 'Ada'), (2, 'Grace'), (3, 'Edsger')",
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	defer db.ExecContext(ctx, "DROP TABLE quickstart_users")

	// Placeholders are $1, $2 …: PostgreSQL's, which SQLite accepts too.
	const userName = "SELECT name FROM quickstart_users WHERE id = $1"
	created := func() int64 { return db.Region().Stats().Created } // queries the cache ran
	// read reads user id's name and says where it came from.
	read := func(id int) error {
		before := created()
		var name string
		if err := db.GetContext(ctx, &name, userName, id); err != nil {
			return err
		}
		from := "served from the cache"
		if created() > before {
			from = "the database ran the query"
		}
		fmt.Fprintf(w, "   user %d is %s (%s)\n", id, name, from)
		return nil
	}

	fmt.Fprintln(w, "1. cached reads")
	if err := read(1); err != nil {
		return err
	}
	if err := read(1); err != nil {
		return err
	}
	st := db.Region().Stats()
	fmt.Fprintf(w, "   cache: %d hits, %d misses, %d created\n", st.Hits, st.Misses, st.Created)

	fmt.Fprintln(w, "2. a write behind the cache's back is not seen")
	// db.Inner() is the database itself, as another program or psql
	// would reach it. (On PostgreSQL, package migrations installs triggers
	// that tell the cache of such writes.)
	if _, err := db.Inner().ExecContext(ctx, "UPDATE quickstart_users SET name = 'Ada Lovelace' WHERE id = 1"); err != nil {
		return err
	}
	fmt.Fprintln(w, "   db.Inner().Exec: user 1 renamed Ada Lovelace, past the cache")
	if err := read(1); err != nil {
		return err
	}

	fmt.Fprintln(w, "3. a write through the DB invalidates what it touched")
	if _, err := db.ExecContext(ctx, "UPDATE quickstart_users SET name = $1 WHERE id = $2", "Ada King", 1); err != nil {
		return err
	}
	fmt.Fprintln(w, "   db.Exec: user 1 renamed Ada King")
	if err := read(1); err != nil {
		return err
	}

	fmt.Fprintln(w, "4. a transaction refreshes a cached query after its commit")
	if err := read(2); err != nil {
		return err
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE quickstart_users SET name = $1 WHERE id = $2", "Grace Hopper", 2); err != nil {
		tx.Rollback()
		return err
	}
	// After the commit, run the query again on the async runner and cache
	// the result, so that the next reader finds it fresh and the writer
	// does not wait. (The channel is only so that this program can print
	// in order.)
	refreshed := make(chan error, 1)
	refresh := db.RefreshQuery(userName, 2)
	tx.RefreshAfterCommit(cachedsql.RefresherFunc(func(ctx context.Context) error {
		err := refresh.Refresh(ctx)
		refreshed <- err
		return err
	}))
	if err := tx.Commit(); err != nil {
		return err
	}
	fmt.Fprintln(w, "   tx: user 2 renamed Grace Hopper; commit")
	if err := <-refreshed; err != nil {
		return err
	}
	fmt.Fprintln(w, "   the refresh ran in the background, after the commit")
	if err := read(2); err != nil {
		return err
	}

	const n = 100
	fmt.Fprintf(w, "5. a stampede: %d goroutines ask for the same uncached query at once\n", n)
	before := created()
	start := make(chan struct{})
	counts := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = db.GetContext(ctx, &counts[i], "SELECT count(*) FROM quickstart_users")
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fmt.Fprintf(w, "   each got %d users; the database ran the query %d time\n", counts[n-1], created()-before)

	st = db.Region().Stats()
	fmt.Fprintf(w, "in all: %d cache lookups, %d queries on the database\n", st.Hits+st.Misses, st.Created)
	return nil
}
