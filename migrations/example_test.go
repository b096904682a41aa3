package migrations_test

import (
	"context"
	"database/sql"
	"log"

	"github.com/dogpile-go/dogpile/migrations"
)

// Install the triggers at start-up and watch the tables whose writes other
// programs make.
func Example() {
	ctx := context.Background()
	db, err := sql.Open("pgx", "postgres://app@localhost/shop")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := migrations.Up(ctx, db); err != nil { // a no-op when up to date
		log.Fatal(err)
	}
	if err := migrations.Watch(ctx, db, "users", "sales.orders"); err != nil {
		log.Fatal(err)
	}
	// A listener now LISTENs on migrations.DefaultChannel and reads each
	// payload with migrations.ParsePayload.
}

// A Migrator manages an installation in another schema, with another
// channel.
func ExampleNew() {
	db, err := sql.Open("pgx", "postgres://app@localhost/shop")
	if err != nil {
		log.Fatal(err)
	}
	m, err := migrations.New(db, migrations.WithSchema("cache_meta"), migrations.WithChannel("cache_meta_changes"))
	if err != nil {
		log.Fatal(err) // an invalid name
	}
	ctx := context.Background()
	if _, err := m.Up(ctx); err != nil {
		log.Fatal(err)
	}
	if err := m.Watch(ctx, `"Inventory"`); err != nil {
		log.Fatal(err)
	}
}
