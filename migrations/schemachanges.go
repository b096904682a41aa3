package migrations

import (
	"context"
	"fmt"
)

// WatchSchemaChanges installs an event trigger that sends [PayloadAll]
// after each schema change that alters what queries of existing tables
// return: ALTER TABLE (columns, ATTACH and DETACH PARTITION, [NO]
// INHERIT), DROP TABLE (a partition's too), CREATE OR REPLACE VIEW, ALTER
// and DROP VIEW, REFRESH, ALTER and DROP MATERIALIZED VIEW, ALTER and DROP
// FOREIGN TABLE, ALTER and DROP SCHEMA, CREATE and DROP RULE, CREATE,
// ALTER and DROP POLICY, and GRANT and REVOKE (on the database's own
// objects: role membership and attributes fire no event trigger). Row
// triggers see none of these; without it they
// reach the cache only as the results expire, or by [Migrator.Notify].
// Temporary tables are not left out by PostgreSQL: a program that alters
// its own temporary tables empties every cache each time.
//
// Creating an event trigger needs a superuser: a role without it gets
// [ErrNotPermitted], and the migrations it ran stay as they were. It is
// idempotent, and Down of migration 5 removes it. A trigger installed
// before version 7 misses GRANT and REVOKE: calling it again replaces it.
func (m *Migrator) WatchSchemaChanges(ctx context.Context) error {
	return m.callDDL(ctx, "watch_ddl", "watch schema changes")
}

// UnwatchSchemaChanges removes the event trigger [Migrator.WatchSchemaChanges]
// installed, if it is there (it needs a superuser too).
func (m *Migrator) UnwatchSchemaChanges(ctx context.Context) error {
	return m.callDDL(ctx, "unwatch_ddl", "unwatch schema changes")
}

// WatchingSchemaChanges reports whether the event trigger is installed and
// enabled.
func (m *Migrator) WatchingSchemaChanges(ctx context.Context) (bool, error) {
	var on bool
	err := m.db.QueryRowContext(ctx, `SELECT EXISTS (
		SELECT FROM pg_catalog.pg_event_trigger e
		WHERE e.evtname = $1 AND e.evtenabled <> 'D'
		  AND e.evtfoid = pg_catalog.to_regprocedure($2))`,
		m.TriggerName(), m.function("notify_ddl()")).Scan(&on)
	if err != nil {
		return false, fmt.Errorf("migrations: look for the schema change trigger: %w", err)
	}
	return on, nil
}

// callDDL calls the installed function fn(), which creates or drops the
// event trigger.
func (m *Migrator) callDDL(ctx context.Context, fn, what string) error {
	ok, err := m.hasFunction(ctx, m.db, fn+"()")
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: no function %s in the database", ErrNotInstalled, m.function(fn+"()"))
	}
	if _, err := m.db.ExecContext(ctx, "SELECT "+m.function(fn)+"()"); err != nil {
		if sqlState(err) == "42501" { // insufficient_privilege
			return fmt.Errorf("%w: %s needs a superuser (event triggers): %w", ErrNotPermitted, what, err)
		}
		return fmt.Errorf("migrations: %s: %w", what, err)
	}
	return nil
}
