// Command tags is dogpile.cache's recipe "Invalidating a group of related
// keys", done with tags: everything cached about a user carries the tag
// user:<id>, and one call invalidates all of it, in every process sharing
// the cache, while what is cached about other users stays.
//
//	go run ./examples/tags
//
// dogpile's recipe needs a key generator that records a template of every
// key it makes, so that invalidate_user_id can delete each key for an id.
// Tags need no such bookkeeping: a tagged value records the version its
// tags had when it was made, and bumping a tag's version makes every value
// that carries it invalid at once.
//
// Part 1 is the recipe itself, on cached functions of a region
// ([region.WithTags], [region.Region.InvalidateTags]). Part 2 does the same
// for SQL queries through cachedsql ([cachedsql.ContextWithTags],
// [cachedsql.DB.InvalidateTags]), on SQLite in a temporary file: another
// program changes a user's orders, the cache is told of it, and only that
// user's queries run again. Part 3 tags a cached function's values with
// the name [cachedsql.DB.Tag] gives a user's tag, so that one
// [cachedsql.DB.InvalidateTags] invalidates the function's values and the
// queries together.
//
// # Output
//
//	part 1: cached functions, tagged user:<id> (dogpile's recipe)
//	   user fn one: 0, 5
//	   user fn two: 1, 5
//	   user fn three: 2, 7
//	   user fn two: 3, 7
//	   invalidated user:5
//	   user fn one: 4, 5
//	   user fn two: 5, 5
//	   user fn three: 2, 7
//	   user fn two: 3, 7
//	part 2: cached queries, tagged user:<id>
//	   user 5: Ada, orders: 2, total: 30 (3 queries on the database)
//	   user 7: Grace, orders: 1, total: 12 (3 queries on the database)
//	   another program adds an order for each, past the cache
//	   user 5: Ada, orders: 2, total: 30 (0 queries on the database)
//	   user 7: Grace, orders: 1, total: 12 (0 queries on the database)
//	   invalidated user:5
//	   user 5: Ada, orders: 3, total: 45 (3 queries on the database)
//	   user 7: Grace, orders: 1, total: 12 (0 queries on the database)
//	part 3: a cached function shares the tag with the queries (DB.Tag)
//	   user 5: gold customer (made, from the cached total)
//	   user 7: silver customer (made, from the cached total)
//	   another program adds an order of 30 for user 7, past the cache
//	   user 5: gold customer (cached)
//	   user 7: silver customer (cached)
//	   invalidated user:7
//	   user 5: gold customer (cached)
//	   user 7: gold customer (made, the total read from the database)
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

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

func run(w io.Writer) error {
	fmt.Fprintln(w, "part 1: cached functions, tagged user:<id> (dogpile's recipe)")
	if err := functions(w); err != nil {
		return err
	}
	fmt.Fprintln(w, "part 2: cached queries, tagged user:<id>")
	return queries(w)
}

// userTag is the tag of everything cached about user id.
func userTag(id int) string { return fmt.Sprintf("user:%d", id) }

func functions(w io.Writer) error {
	ctx := context.Background()
	// Tags need a store that keeps tag versions: memory and Redis do.
	store, err := memory.New(memory.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	users := region.New("users")
	if err := users.Configure(region.Config{Backend: store}); err != nil {
		return err
	}

	counter := 0
	next := func() int { counter++; return counter - 1 }
	userFn := func(name string) *region.Func[int, string] {
		return region.MustCacheOnArguments(users, func(_ context.Context, userID int) (string, error) {
			return fmt.Sprintf("user fn %s: %d, %d", name, next(), userID), nil
		}, region.FuncName("user_fn_"+name))
	}
	userFnOne, userFnTwo, userFnThree := userFn("one"), userFn("two"), userFn("three")

	// The tag depends on the argument, so each call names it; a key must
	// always be asked for with the same tags. Only Call takes per-call
	// options: a Func's Get, Set and Refresh would see and store these
	// values untagged, so a function tagged by argument is used through
	// Call alone.
	calls := []struct {
		fn     *region.Func[int, string]
		userID int
	}{{userFnOne, 5}, {userFnTwo, 5}, {userFnThree, 7}, {userFnTwo, 7}}
	callAll := func() error {
		for _, c := range calls {
			v, err := c.fn.Call(ctx, c.userID, region.WithTags(userTag(c.userID)))
			if err != nil {
				return err
			}
			fmt.Fprintln(w, "  ", v)
		}
		return nil
	}
	if err := callAll(); err != nil {
		return err
	}
	if err := users.InvalidateTags(ctx, userTag(5)); err != nil {
		return err
	}
	fmt.Fprintln(w, "   invalidated", userTag(5))
	return callAll()
}

func queries(w io.Writer) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "dogpile-tags-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, err := cachedsql.Connect("sqlite", filepath.Join(dir, "app.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	for _, stmt := range []string{
		"CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
		"CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, total INTEGER NOT NULL)",
		"INSERT INTO users (id, name) VALUES (5, 'Ada'), (7, 'Grace')",
		"INSERT INTO orders (user_id, total) VALUES (5, 10), (5, 20), (7, 12)",
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}

	// show reads three things about a user, each a cached query tagged
	// with the user's tag, and says how many of them ran on the database.
	show := func(id int) error {
		ctx := cachedsql.ContextWithTags(ctx, userTag(id))
		before := db.Region().Stats().Created
		var (
			name          string
			orders, total int
		)
		if err := db.GetContext(ctx, &name, "SELECT name FROM users WHERE id = $1", id); err != nil {
			return err
		}
		if err := db.GetContext(ctx, &orders, "SELECT count(*) FROM orders WHERE user_id = $1", id); err != nil {
			return err
		}
		if err := db.GetContext(ctx, &total, "SELECT coalesce(sum(total), 0) FROM orders WHERE user_id = $1", id); err != nil {
			return err
		}
		fmt.Fprintf(w, "   user %d: %s, orders: %d, total: %d (%d queries on the database)\n",
			id, name, orders, total, db.Region().Stats().Created-before)
		return nil
	}
	// Writes through db would invalidate the orders table by themselves;
	// these go straight to the database, as another program's would. Told
	// that user 5 changed (by a message, say), the program then
	// invalidates everything cached about user 5, and nothing else.
	if err := writeAndInvalidate(ctx, w, db, show,
		"INSERT INTO orders (user_id, total) VALUES (5, 15), (7, 8)",
		"another program adds an order for each, past the cache", 5); err != nil {
		return err
	}
	fmt.Fprintln(w, "part 3: a cached function shares the tag with the queries (DB.Tag)")
	return shared(ctx, w, db)
}

// writeAndInvalidate shows users 5 and 7; runs write on the database past
// the cache, as another program would, saying so; shows them again;
// invalidates user id's tag; and shows them a last time.
func writeAndInvalidate(ctx context.Context, w io.Writer, db *cachedsql.DB, show func(id int) error, write, saying string, id int) error {
	showBoth := func() error {
		if err := show(5); err != nil {
			return err
		}
		return show(7)
	}
	if err := showBoth(); err != nil {
		return err
	}
	if _, err := db.Inner().ExecContext(ctx, write); err != nil {
		return err
	}
	fmt.Fprintln(w, "  ", saying)
	if err := showBoth(); err != nil {
		return err
	}
	if err := db.InvalidateTags(ctx, userTag(id)); err != nil {
		return err
	}
	fmt.Fprintln(w, "   invalidated", userTag(id))
	return showBoth()
}

// shared caches a function of the user's orders on the DB's region. Its
// values carry db.Tag(user:<id>), the name under which the DB keeps the
// caller's tag user:<id>, so db.InvalidateTags(user:<id>) reaches them as
// well as the user's tagged queries.
func shared(ctx context.Context, w io.Writer, db *cachedsql.DB) error {
	level := region.MustCacheOnArguments(db.Region(), func(ctx context.Context, id int) (string, error) {
		// The query inside carries the user's tag too: invalidating the
		// function's value alone would make it again from a stale total.
		var total int
		if err := db.GetContext(cachedsql.ContextWithTags(ctx, userTag(id)), &total,
			"SELECT coalesce(sum(total), 0) FROM orders WHERE user_id = $1", id); err != nil {
			return "", err
		}
		if total >= 40 {
			return "gold", nil
		}
		return "silver", nil
	}, region.FuncName("customer_level"))

	show := func(id int) error {
		st := db.Region().Stats()
		v, err := level.Call(ctx, id, region.WithTags(db.Tag(userTag(id))))
		if err != nil {
			return err
		}
		after := db.Region().Stats()
		// Created counts the function's value and the query it ran.
		how := "cached"
		switch after.Created - st.Created {
		case 1:
			how = "made, from the cached total"
		case 2:
			how = "made, the total read from the database"
		}
		fmt.Fprintf(w, "   user %d: %s customer (%s)\n", id, v, how)
		return nil
	}
	return writeAndInvalidate(ctx, w, db, show,
		"INSERT INTO orders (user_id, total) VALUES (7, 30)",
		"another program adds an order of 30 for user 7, past the cache", 7)
}
