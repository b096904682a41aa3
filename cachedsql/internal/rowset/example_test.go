package rowset_test

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/dogpile-go/dogpile/cachedsql/internal/rowset"
)

// exampleDB is an SQLite database with a few users, for the examples.
func exampleDB() *sql.DB {
	db, err := sql.Open("sqlite", "file:example?mode=memory&cache=shared")
	if err != nil {
		panic(err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT, email TEXT);
		DELETE FROM users;
		INSERT INTO users VALUES (1, 'ada', 'ada@example.com'), (2, 'brian', NULL), (3, 'carol', 'carol@example.com')`); err != nil {
		panic(err)
	}
	return db
}

// The miss: run the query, materialize it, encode it for a bytes store;
// the hit: decode it and replay it as real *sql.Rows.
func ExampleMaterialize() {
	db := exampleDB()
	defer db.Close()
	ctx := context.Background()

	rows, err := db.QueryContext(ctx, "SELECT id, name, email FROM users ORDER BY id")
	if err != nil {
		panic(err)
	}
	set, over, err := rowset.Materialize(rows, rowset.Limits{MaxRows: 1000})
	if err != nil || over != nil {
		panic(fmt.Sprint(over, err))
	}
	stored, err := set.MarshalBinary() // into Redis, say
	if err != nil {
		panic(err)
	}

	hit, err := rowset.Decode(stored)
	if err != nil {
		panic(err)
	}
	replay, err := rowset.Query(ctx, hit)
	if err != nil {
		panic(err)
	}
	defer replay.Close()
	for replay.Next() {
		var id int
		var name string
		var email sql.NullString
		if err := replay.Scan(&id, &name, &email); err != nil {
			panic(err)
		}
		fmt.Println(id, name, email.String, email.Valid)
	}
	if err := replay.Err(); err != nil {
		panic(err)
	}
	// Output:
	// 1 ada ada@example.com true
	// 2 brian  false
	// 3 carol carol@example.com true
}

// Select and Get scan a Set as sqlx would scan the database's rows.
func ExampleSelect() {
	db := exampleDB()
	defer db.Close()
	ctx := context.Background()
	set := mustMaterialize(db, "SELECT id, name, email FROM users ORDER BY id")

	type user struct {
		ID    int64          `db:"id"`
		Name  string         `db:"name"`
		Email sql.NullString `db:"email"`
	}
	var users []user
	if err := rowset.Select(ctx, set, &users, nil, false); err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", users)

	var first user
	if err := rowset.Get(ctx, set, &first, nil, false); err != nil {
		panic(err)
	}
	fmt.Println(first.Name)

	none := mustMaterialize(db, "SELECT id, name, email FROM users WHERE id < 0")
	fmt.Println(rowset.Get(ctx, none, &first, nil, false) == sql.ErrNoRows)
	// Output:
	// [{ID:1 Name:ada Email:{String:ada@example.com Valid:true}} {ID:2 Name:brian Email:{String: Valid:false}} {ID:3 Name:carol Email:{String:carol@example.com Valid:true}}]
	// ada
	// true
}

// A result over the limits is not cached, and not lost: the Overflow
// replays the whole of it, once.
func ExampleOverflow() {
	db := exampleDB()
	defer db.Close()
	ctx := context.Background()

	rows, err := db.QueryContext(ctx, "SELECT name FROM users ORDER BY id")
	if err != nil {
		panic(err)
	}
	set, over, err := rowset.Materialize(rows, rowset.Limits{MaxRows: 2})
	if err != nil {
		panic(err)
	}
	fmt.Println(set == nil, over.Rows())

	var names []string
	if err := rowset.Select(ctx, over, &names, nil, false); err != nil {
		panic(err)
	}
	fmt.Println(names)
	fmt.Println(rowset.Select(ctx, over, &names, nil, false))
	// Output:
	// true 2
	// [ada brian carol]
	// rowset: overflow already replayed; an Overflow can be replayed once
}

func ExampleKey() {
	key, err := rowset.Key("users", "", "SELECT * FROM users WHERE id = $1", []any{42})
	fmt.Println(key, err)
	_, err = rowset.Key("users", "", "SELECT * FROM users WHERE id = ANY($1)", []any{map[int]bool{42: true}})
	fmt.Println(err)
	// Output:
	// users:0a1a75d7f892ceebe903344ecd5dce1baa3e07eabd544c70a72c26017819b9d6 <nil>
	// rowset: argument cannot be part of a cache key: args[0] is a map[int]bool: a map (iteration order is random) has no deterministic encoding
}

func mustMaterialize(db *sql.DB, query string) *rowset.Set {
	rows, err := db.Query(query)
	if err != nil {
		panic(err)
	}
	set, _, err := rowset.Materialize(rows, rowset.Limits{})
	if err != nil {
		panic(err)
	}
	return set
}
