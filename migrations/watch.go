package migrations

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Watch makes every committed write to each table (INSERT, UPDATE, DELETE,
// MERGE, COPY, TRUNCATE, from any session) send one notification per
// transaction on the channel, naming the table ([FormatTable]). Tables are
// named as in SQL: "users", "sales.orders", `"MixedCase"`; an unqualified
// name is looked up on the search_path. Watching a watched table does
// nothing. For a partitioned table, or a partition, its whole line is
// watched: the partitions below it and the tables above it.
//
// All tables are watched in one transaction, or none: a name that is no
// table is [ErrNoSuchTable], a view or other relation [ErrNotWatchable], a
// table with someone else's trigger of dogpile's name [ErrTriggerConflict],
// and a schema where Up has not run [ErrNotInstalled]. Attaching a trigger
// takes a SHARE ROW EXCLUSIVE lock on the table, so it waits for writes in
// progress and holds up new ones until the transaction ends.
func (m *Migrator) Watch(ctx context.Context, tables ...string) error {
	return m.eachTable(ctx, "watch", tables)
}

// Unwatch removes dogpile's trigger from each table and the partitions
// below it; tables above a partition keep theirs, since other partitions
// may need them. Unwatching a table that is not watched does nothing.
// Errors are those of [Migrator.Watch].
func (m *Migrator) Unwatch(ctx context.Context, tables ...string) error {
	return m.eachTable(ctx, "unwatch", tables)
}

// Notify sends, for each table, the notification its trigger would send on
// a write, watched or not: for writes no trigger saw, such as a bulk load
// with triggers disabled. The notifications go out when the call returns
// (NOTIFY is sent at commit).
func (m *Migrator) Notify(ctx context.Context, tables ...string) error {
	return m.eachTable(ctx, "notify", tables)
}

// NotifyAll sends the notification [PayloadAll], which tells listeners that
// every table may have changed: after a restore, or a load that bypassed
// the triggers of many tables.
func (m *Migrator) NotifyAll(ctx context.Context) error {
	ok, err := m.hasFunction(ctx, m.db, "notify_all()")
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: no function %s in the database", ErrNotInstalled, m.function("notify_all()"))
	}
	if _, err := m.db.ExecContext(ctx, "SELECT "+m.function("notify_all")+"()"); err != nil {
		return fmt.Errorf("migrations: notify all: %w", err)
	}
	return nil
}

// Watched returns the tags of the tables whose writes send notifications,
// as the payloads name them ([FormatTable]), sorted.
func (m *Migrator) Watched(ctx context.Context) ([]string, error) {
	ok, err := m.hasFunction(ctx, m.db, "watched()")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: no function %s in the database", ErrNotInstalled, m.function("watched()"))
	}
	rows, err := m.db.QueryContext(ctx, "SELECT tag FROM "+m.function("watched")+"()")
	if err != nil {
		return nil, fmt.Errorf("migrations: list watched tables: %w", err)
	}
	defer rows.Close()
	var tags []string
	for rows.Next() {
		var tag string
		if err := rows.Scan(&tag); err != nil {
			return nil, fmt.Errorf("migrations: list watched tables: %w", err)
		}
		tags = append(tags, tag)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migrations: list watched tables: %w", err)
	}
	return tags, nil
}

// eachTable calls the installed function fn(regclass) for each table, in
// one transaction.
func (m *Migrator) eachTable(ctx context.Context, fn string, tables []string) (err error) {
	if len(tables) == 0 {
		return nil
	}
	tx, err := m.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrations: %s: %w", fn, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	signature := fn + "(regclass)"
	if fn == "notify" {
		signature = "notify(regclass[])"
	}
	ok, err := m.hasFunction(ctx, tx, signature)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: no function %s in the database", ErrNotInstalled, m.function(signature))
	}
	call := "SELECT " + m.function(fn) + "($1::pg_catalog.int8::pg_catalog.regclass)"
	for _, table := range tables {
		oid, err := resolveTable(ctx, tx, table)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, call, oid); err != nil {
			switch sqlState(err) {
			case "42809": // wrong_object_type
				return fmt.Errorf("%w: %s %q: %w", ErrNotWatchable, fn, table, err)
			case "42710": // duplicate_object
				return fmt.Errorf("%w: %s %q: %w", ErrTriggerConflict, fn, table, err)
			}
			return fmt.Errorf("migrations: %s %q: %w", fn, table, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrations: %s: %w", fn, err)
	}
	return nil
}

// resolveTable returns the OID of the relation a name means, as SQL would
// read it.
func resolveTable(ctx context.Context, q queryer, table string) (int64, error) {
	var oid sql.NullInt64
	err := q.QueryRowContext(ctx, "SELECT pg_catalog.to_regclass($1)::pg_catalog.oid::pg_catalog.int8", table).Scan(&oid)
	if err != nil {
		// to_regclass returns NULL for a missing relation or schema, but
		// fails on a name that is not one, such as "a.b.c.d".
		return 0, fmt.Errorf("%w: %q is not a table name: %w", ErrNoSuchTable, table, err)
	}
	if !oid.Valid {
		return 0, fmt.Errorf("%w: %q (name it as in SQL: schema-qualified unless it is on the search_path, in double quotes if it has capitals)", ErrNoSuchTable, table)
	}
	return oid.Int64, nil
}

// sqlState returns the SQLSTATE of a PostgreSQL error from pgx or lib/pq,
// or "".
func sqlState(err error) string {
	var e interface{ SQLState() string }
	if errors.As(err, &e) {
		return e.SQLState()
	}
	return ""
}
