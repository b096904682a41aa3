package cachedsql_test

import (
	"context"
	"fmt"
	"log"
	"net/url"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite"

	"github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/cachedsql"
)

// The examples run on SQLite (modernc.org/sqlite, pure Go), in a file of
// their own, so that they need no server; on PostgreSQL only the driver
// name, the data source and the placeholders ($1) change.

// exampleDB opens a cachedsql.DB on a new SQLite database with a table of
// users; done closes it and removes the file.
func exampleDB() (db *cachedsql.DB, done func()) {
	dir, err := os.MkdirTemp("", "cachedsql-example-*")
	if err != nil {
		log.Fatal(err)
	}
	db, err = cachedsql.Connect("sqlite", filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	db.MustExec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
	db.MustExec("INSERT INTO users (name) VALUES ('Ada'), ('Grace')")
	return db, func() { db.Close(); os.RemoveAll(dir) }
}

func ExampleConnect() {
	dir, err := os.MkdirTemp("", "cachedsql-example-*")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// As sqlx.Connect: open, and ping.
	db, err := cachedsql.Connect("sqlite", filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.MustExec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
	db.MustExec("INSERT INTO users (name) VALUES ('Ada'), ('Grace')")

	for range 3 {
		var names []string
		if err := db.Select(&names, "SELECT name FROM users ORDER BY id"); err != nil {
			log.Fatal(err)
		}
		fmt.Println(names)
	}
	fmt.Println("queries the cache ran:", db.Region().Stats().Created)
	// Output:
	// [Ada Grace]
	// [Ada Grace]
	// [Ada Grace]
	// queries the cache ran: 1
}

// A write invalidates the cached results of the tables it writes.
func Example_writeInvalidates() {
	db, done := exampleDB()
	defer done()

	const q = "SELECT name FROM users WHERE id = ?"
	var name string
	for range 2 {
		_ = db.Get(&name, q, 1)
		fmt.Println(name, "- queries:", db.Region().Stats().Created)
	}
	db.MustExec("UPDATE users SET name = ? WHERE id = ?", "Ada Lovelace", 1)
	_ = db.Get(&name, q, 1)
	fmt.Println(name, "- queries:", db.Region().Stats().Created)
	// Output:
	// Ada - queries: 1
	// Ada - queries: 1
	// Ada Lovelace - queries: 2
}

func ExampleTx_AfterCommit() {
	db, done := exampleDB()
	defer done()

	const q = "SELECT name FROM users WHERE id = ?"
	var name string
	_ = db.Get(&name, q, 2)
	fmt.Println("cached:", name)

	tx := db.MustBegin()
	tx.MustExec("UPDATE users SET name = ? WHERE id = ?", "Grace Hopper", 2)
	tx.AfterCommit(func(ctx context.Context) {
		// The hook runs once what the transaction wrote is invalidated.
		_ = db.GetContext(ctx, &name, q, 2)
		fmt.Println("committed:", name)
	})
	tx.AfterRollback(func(context.Context) { fmt.Println("rolled back") })
	if err := tx.Commit(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// cached: Grace
	// committed: Grace Hopper
}

func ExampleContextWithTags() {
	db, done := exampleDB()
	defer done()

	const q = "SELECT name FROM users WHERE id = ?"
	ctx := cachedsql.ContextWithTags(context.Background(), "user:1")
	var name string
	_ = db.GetContext(ctx, &name, q, 1)
	fmt.Println(name)

	// A write the cache does not see, as another program's would be.
	_, _ = db.Inner().Exec("UPDATE users SET name = 'Ada Lovelace' WHERE id = 1")
	_ = db.GetContext(ctx, &name, q, 1)
	fmt.Println(name, "(cached)")

	// Told of it (by a message, say), the program invalidates the tag.
	_ = db.InvalidateTags(ctx, "user:1")
	_ = db.GetContext(ctx, &name, q, 1)
	fmt.Println(name)
	// Output:
	// Ada
	// Ada (cached)
	// Ada Lovelace
}

func ExampleTx_RefreshAfterCommit() {
	db, done := exampleDB()
	defer done()

	const q = "SELECT name FROM users WHERE id = ?"
	var name string
	_ = db.Get(&name, q, 2)

	tx := db.MustBegin()
	tx.MustExec("UPDATE users SET name = ? WHERE id = ?", "Grace Hopper", 2)
	// After the commit, make the result again in the background, so that
	// the next reader does not wait for the database.
	tx.RefreshAfterCommit(db.RefreshQuery(q, 2))
	if err := tx.Commit(); err != nil {
		log.Fatal(err)
	}

	for db.Region().Stats().Created < 2 { // an example must wait to print
		time.Sleep(time.Millisecond)
	}
	_ = db.Get(&name, q, 2) // made by the refresh
	fmt.Println(name, "- queries:", db.Region().Stats().Created)
	// Output:
	// Grace Hopper - queries: 2
}

// A view's reads follow the tables behind it, once the DB knows them:
// SQLiteViews (or PostgresViews) reads them from the database.
func ExampleWithViews() {
	dir, err := os.MkdirTemp("", "cachedsql-example-*")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "app.db")
	setup, err := cachedsql.Connect("sqlite", path)
	if err != nil {
		log.Fatal(err)
	}
	setup.MustExec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, active INTEGER)")
	setup.MustExec("INSERT INTO users (name, active) VALUES ('Ada', 1), ('Grace', 0)")
	setup.MustExec("CREATE VIEW active_users AS SELECT id, name FROM users WHERE active = 1")
	views, err := cachedsql.SQLiteViews(context.Background(), setup.Inner())
	setup.Close()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(views)

	db, err := cachedsql.Connect("sqlite", path, cachedsql.WithViews(views))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	var names []string
	_ = db.Select(&names, "SELECT name FROM active_users ORDER BY id")
	fmt.Println(names)
	db.MustExec("UPDATE users SET active = 1 WHERE name = 'Grace'") // a write to the table behind the view
	_ = db.Select(&names, "SELECT name FROM active_users ORDER BY id")
	fmt.Println(names, "- queries:", db.Region().Stats().Created)
	// Output:
	// map["active_users":["users"]]
	// [Ada]
	// [Ada Grace] - queries: 2
}

// Rows a foreign key's ON DELETE CASCADE removes from another table
// invalidate that table's reads, once the DB knows the key:
// SQLiteCascades (or PostgresCascades) reads the keys from the database.
func ExampleWithCascades() {
	dir, err := os.MkdirTemp("", "cachedsql-example-*")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	dsn := "file:" + filepath.Join(dir, "app.db") + "?_pragma=foreign_keys(1)"
	setup, err := cachedsql.Connect("sqlite", dsn)
	if err != nil {
		log.Fatal(err)
	}
	setup.MustExec("CREATE TABLE teams (id INTEGER PRIMARY KEY, name TEXT)")
	setup.MustExec("CREATE TABLE members (name TEXT, team_id INTEGER REFERENCES teams ON DELETE CASCADE)")
	setup.MustExec("INSERT INTO teams VALUES (1, 'compilers'), (2, 'databases')")
	setup.MustExec("INSERT INTO members VALUES ('Grace', 1), ('Edgar', 2)")
	cascades, err := cachedsql.SQLiteCascades(context.Background(), setup.Inner())
	setup.Close()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cascades)

	db, err := cachedsql.Connect("sqlite", dsn, cachedsql.WithCascades(cascades))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	var names []string
	_ = db.Select(&names, "SELECT name FROM members ORDER BY name")
	fmt.Println(names)
	db.MustExec("DELETE FROM teams WHERE name = 'compilers'") // removes Grace too
	_ = db.Select(&names, "SELECT name FROM members ORDER BY name")
	fmt.Println(names, "- queries:", db.Region().Stats().Created)
	// Output:
	// map["teams":["members"]]
	// [Edgar Grace]
	// [Edgar] - queries: 2
}

// A multi-tenant PostgreSQL database whose row-level security policies
// read the tenant from a setting of the application's own:
//
//	CREATE POLICY tenant ON orders USING (tenant = current_setting('app.tenant', true));
//
// Each tenant's DB sets it on every connection (the DSN's options), and
// names it with WithSessionSettings, so that tenants share one cache and
// its invalidation but never each other's rows. (Not run: it needs a
// PostgreSQL server.)
func ExampleWithSessionSettings() {
	store, err := memory.New(memory.Options{})
	if err != nil {
		log.Fatal(err)
	}
	tenantDB := func(tenant string) *cachedsql.DB {
		dsn := "postgres://app@db.internal/shop?options=-c%20app.tenant%3D" + url.QueryEscape(tenant)
		db, err := cachedsql.Open("pgx", dsn,
			cachedsql.WithBackend(store), // one cache for every tenant
			cachedsql.WithSessionSettings("app.tenant"))
		if err != nil {
			log.Fatal(err)
		}
		return db
	}
	acme, globex := tenantDB("acme"), tenantDB("globex")
	defer acme.Close()
	defer globex.Close()

	var n int
	_ = acme.Get(&n, "SELECT count(*) FROM orders")   // acme's orders, cached for acme
	_ = globex.Get(&n, "SELECT count(*) FROM orders") // globex's, under another key
}
