// Command commithooks is dogpile.cache's recipe "Asynchronous Data Updates
// with ORM Events", with the hooks of a [cachedsql.Tx]: a transaction
// writes, and once it has committed, the cached results its write made
// out of date are made again in the background, so that the next reader
// finds them fresh and the writer does not wait for them. A transaction
// that rolls back runs its rollback hooks instead and leaves the cache as
// it was.
//
//	go run ./examples/commithooks
//
// It runs on SQLite, in a file in a temporary directory, with the cache in
// process memory. Two things are cached: a query, through the DB, whose
// cached result the commit invalidates ([cachedsql.DB.RefreshQuery] makes it
// again), and getSomeData, a cached function of a region of its own, as in
// the recipe, which nothing invalidates ([cachedsql.RefreshFunc] replaces
// its result). [cachedsql.Tx.RefreshAfterCommit] runs both on the DB's
// async runner after the commit; [cachedsql.Tx.AfterCommit] and
// [cachedsql.Tx.AfterRollback] run on the goroutine that ends the
// transaction, for work of any kind.
//
// Between the commit and its refresh, readers of the query go to the
// database (the commit invalidated its result before Commit returned),
// while getSomeData still serves its old result, as it does in the recipe.
//
// # Output
//
//	step 1: a cached query and a cached function
//	   books: Dune, Emma (the database ran the query)
//	   getSomeData(books): 2 books, cheapest 7 (the function ran)
//	   books: Dune, Emma (served from the cache)
//	   getSomeData(books): 2 books, cheapest 7 (served from the cache)
//	step 2: a transaction adds a book and commits
//	   tx: INSERT Ulysses
//	   AfterCommit: tell the search index about Ulysses
//	   tx committed; both refreshed in the background after the commit
//	   books: Dune, Emma, Ulysses (served from the cache)
//	   getSomeData(books): 3 books, cheapest 5 (served from the cache)
//	step 3: a transaction adds a book and rolls back
//	   tx: INSERT Walden
//	   AfterRollback: nothing to tell anyone about
//	   tx rolled back; no refresh ran
//	   books: Dune, Emma, Ulysses (served from the cache)
//	   getSomeData(books): 3 books, cheapest 5 (served from the cache)
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	_ "modernc.org/sqlite" // driver "sqlite", pure Go

	"github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/cachedsql"
	"github.com/dogpile-go/dogpile/region"
)

func main() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// Summary is what getSomeData computes.
type Summary struct {
	Count    int `db:"count"`
	Cheapest int `db:"cheapest"`
}

const booksQuery = "SELECT title FROM items WHERE category = $1 ORDER BY title"

func run(w io.Writer) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "dogpile-commithooks-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, err := cachedsql.Connect("sqlite", filepath.Join(dir, "app.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return err
	}
	defer db.Close()
	for _, stmt := range []string{
		"CREATE TABLE items (id INTEGER PRIMARY KEY, category TEXT NOT NULL, title TEXT NOT NULL, price INTEGER NOT NULL)",
		"INSERT INTO items (category, title, price) VALUES ('books', 'Dune', 9), ('books', 'Emma', 7)",
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}

	// getSomeData is the recipe's cached function, in a region of its own.
	// It reads past the DB's cache: its own cache is the one that counts.
	store, err := memory.New(memory.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	data := region.New("data")
	if err := data.Configure(region.Config{Backend: store}); err != nil {
		return err
	}
	var calls atomic.Int64 // how often getSomeData really ran
	getSomeData, err := region.CacheOnArguments(data, func(ctx context.Context, category string) (Summary, error) {
		calls.Add(1)
		var s Summary
		err := db.GetContext(cachedsql.SkipCache(ctx), &s,
			"SELECT count(*) AS count, coalesce(min(price), 0) AS cheapest FROM items WHERE category = $1", category)
		return s, err
	}, region.FuncName("get_some_data"))
	if err != nil {
		return err
	}

	// show reads both and says where each came from.
	show := func() error {
		queries, ran := db.Region().Stats().Created, calls.Load()
		var titles []string
		if err := db.SelectContext(ctx, &titles, booksQuery, "books"); err != nil {
			return err
		}
		from := "served from the cache"
		if db.Region().Stats().Created > queries {
			from = "the database ran the query"
		}
		fmt.Fprintf(w, "   books: %s (%s)\n", strings.Join(titles, ", "), from)
		s, err := getSomeData.Call(ctx, "books")
		if err != nil {
			return err
		}
		from = "served from the cache"
		if calls.Load() > ran {
			from = "the function ran"
		}
		fmt.Fprintf(w, "   getSomeData(books): %d books, cheapest %d (%s)\n", s.Count, s.Cheapest, from)
		return nil
	}

	fmt.Fprintln(w, "step 1: a cached query and a cached function")
	if err := show(); err != nil {
		return err
	}
	if err := show(); err != nil {
		return err
	}

	fmt.Fprintln(w, "step 2: a transaction adds a book and commits")
	tx, err := addBook(ctx, db, w, "Ulysses", 5, true, func(tx *cachedsql.Tx) {
		// Made again on the DB's runner once the commit is done.
		tx.RefreshAfterCommit(db.RefreshQuery(booksQuery, "books"), cachedsql.RefreshFunc(getSomeData, "books"))
	})
	if err != nil {
		return err
	}
	// Only so that this program prints in order: a program would not wait.
	if err := tx.WaitRefreshes(ctx); err != nil {
		return err
	}
	fmt.Fprintln(w, "   tx committed; both refreshed in the background after the commit")
	if err := show(); err != nil {
		return err
	}

	fmt.Fprintln(w, "step 3: a transaction adds a book and rolls back")
	before := data.Stats().Created + db.Region().Stats().Created
	if _, err := addBook(ctx, db, w, "Walden", 8, false, func(tx *cachedsql.Tx) {
		tx.RefreshAfterCommit(db.RefreshQuery(booksQuery, "books"), cachedsql.RefreshFunc(getSomeData, "books"))
	}); err != nil {
		return err
	}
	if after := data.Stats().Created + db.Region().Stats().Created; after != before {
		return fmt.Errorf("step 3: %d refreshes ran after a rollback", after-before)
	}
	fmt.Fprintln(w, "   tx rolled back; no refresh ran")
	return show()
}

// addBook adds a book in a transaction, with the hooks of a program that
// keeps a search index, and commits it or rolls it back; it returns the
// ended transaction. refresh registers the refreshes.
func addBook(ctx context.Context, db *cachedsql.DB, w io.Writer, title string, price int, commit bool, refresh func(*cachedsql.Tx)) (*cachedsql.Tx, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO items (category, title, price) VALUES ('books', $1, $2)", title, price); err != nil {
		tx.Rollback()
		return nil, err
	}
	fmt.Fprintln(w, "   tx: INSERT", title)
	// Hooks run on the goroutine that commits or rolls back, after the
	// cache has been told of the outcome.
	tx.AfterCommit(func(context.Context) {
		fmt.Fprintln(w, "   AfterCommit: tell the search index about", title)
	})
	tx.AfterRollback(func(context.Context) {
		fmt.Fprintln(w, "   AfterRollback: nothing to tell anyone about")
	})
	refresh(tx)
	if commit {
		return tx, tx.Commit()
	}
	return tx, tx.Rollback()
}
