package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	_ "modernc.org/sqlite"             // driver "sqlite", pure Go

	"github.com/dogpile-go/dogpile/cachedsql"
)

// chooseDatabase returns the driver and data source every process opens:
// PostgreSQL at DATABASE_URL, or else a SQLite file in a new temporary
// directory, which several processes can share (SQLite locks the file).
// done removes what it made.
func chooseDatabase(w io.Writer) (driver, dsn string, done func(), err error) {
	if url := os.Getenv("DATABASE_URL"); url != "" {
		fmt.Fprintln(w, "database: PostgreSQL at DATABASE_URL")
		return "pgx", url, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "dogpile-example-redis-*")
	if err != nil {
		return "", "", nil, err
	}
	fmt.Fprintln(w, "database: SQLite, one file that every process opens (DATABASE_URL is not set)")
	// The default rollback journal, not WAL: a lock on the file then
	// stops readers too, which step 4 needs (see lockTable).
	dsn = filepath.Join(dir, "items.db") + "?_pragma=busy_timeout(20000)"
	return "sqlite", dsn, func() { os.RemoveAll(dir) }, nil
}

// createItems makes the example's table, through the DB so that the cache
// knows (a DDL statement invalidates everything the namespace cached).
func createItems(ctx context.Context, db *cachedsql.DB) error {
	for _, stmt := range []string{
		"DROP TABLE IF EXISTS redis_example_items",
		"CREATE TABLE redis_example_items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
		"INSERT INTO redis_example_items (id, name) VALUES (1, 'apple'), (2, 'banana'), (3, 'cherry')",
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}

// lockTable makes every read of the table wait until release is called,
// as a long write or a slow database would: on SQLite an exclusive lock on
// the file, on PostgreSQL an ACCESS EXCLUSIVE lock on the table. It runs
// on the database itself, past the cache, and writes nothing.
func lockTable(ctx context.Context, db *sql.DB, driver string) (release func() error, err error) {
	if driver == "sqlite" {
		conn, err := db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
			conn.Close()
			return nil, err
		}
		return func() error {
			_, err := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
			conn.Close()
			return err
		}, nil
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, "LOCK TABLE redis_example_items IN ACCESS EXCLUSIVE MODE"); err != nil {
		tx.Rollback()
		return nil, err
	}
	return tx.Rollback, nil
}
