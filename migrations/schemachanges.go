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
// ALTER and DROP POLICY, GRANT and REVOKE (on the database's own objects:
// role membership and attributes fire no event trigger) and DROP OWNED
// (REASSIGN OWNED fires none). Row triggers see none of these; without it
// they reach the cache only as the results expire, or by
// [Migrator.Notify].
// Temporary tables are not left out by PostgreSQL: a program that alters
// its own temporary tables empties every cache each time.
//
// Creating an event trigger needs a superuser: a role without it gets
// [ErrNotPermitted], and the migrations it ran stay as they were. It is
// idempotent, and Down of migration 5 removes it. A trigger installed
// before version 7 misses GRANT, REVOKE and DROP OWNED
// ([Migrator.SchemaChangeTriggerOutdated]): calling it again replaces it,
// as it does a disabled one. Two calls at once, from two processes, wait
// for each other (they take the migration lock) instead of one failing.
func (m *Migrator) WatchSchemaChanges(ctx context.Context) error {
	return m.callDDL(ctx, "watch_ddl", "watch schema changes")
}

// UnwatchSchemaChanges removes the event trigger [Migrator.WatchSchemaChanges]
// installed, if it is there (it needs a superuser too).
func (m *Migrator) UnwatchSchemaChanges(ctx context.Context) error {
	return m.callDDL(ctx, "unwatch_ddl", "unwatch schema changes")
}

// WatchingSchemaChanges reports whether the event trigger is installed and
// enabled for ordinary sessions (not disabled, not for replicas only); it
// may be one made before version 7, which misses GRANT, REVOKE
// and DROP OWNED: [Migrator.SchemaChangeTriggerOutdated] tells.
func (m *Migrator) WatchingSchemaChanges(ctx context.Context) (bool, error) {
	on, _, err := m.ddlTrigger(ctx)
	return on, err
}

// grantTags are the command tags version 7 added to the event trigger's;
// a trigger without them was made before it.
const grantTags = `{GRANT,REVOKE,"DROP OWNED"}`

// SchemaChangeTriggerOutdated reports whether the event trigger is
// installed but made before version 7, so that it misses GRANT, REVOKE and
// DROP OWNED: Up cannot replace it (making an event trigger needs a
// superuser), [Migrator.WatchSchemaChanges] on a schema at version 7 does.
// It is false when no trigger is installed.
func (m *Migrator) SchemaChangeTriggerOutdated(ctx context.Context) (bool, error) {
	_, outdated, err := m.ddlTrigger(ctx)
	return outdated, err
}

// ddlTrigger reads the state of dogpile's event trigger: on, when it fires
// for ordinary sessions (enabled, and not for replicas only); outdated,
// when it was made before version 7 (without grantTags). Both are false
// when it is not installed.
func (m *Migrator) ddlTrigger(ctx context.Context) (on, outdated bool, err error) {
	err = m.db.QueryRowContext(ctx, `SELECT
		  coalesce(bool_or(e.evtenabled IN ('O', 'A')), false),
		  coalesce(bool_or(NOT e.evttags @> $3::text[]), false)
		FROM pg_catalog.pg_event_trigger e
		WHERE e.evtname = $1 AND e.evtfoid = pg_catalog.to_regprocedure($2)`,
		m.TriggerName(), m.function("notify_ddl()"), grantTags).Scan(&on, &outdated)
	if err != nil {
		return false, false, fmt.Errorf("migrations: look for the schema change trigger: %w", err)
	}
	return on, outdated, nil
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
	// Under the migration lock: two sessions that both find no trigger
	// would both create it, and the second would fail on its name.
	tx, err := m.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrations: %s: %w", what, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SELECT pg_catalog.pg_advisory_xact_lock($1)", m.lockID); err != nil {
		return fmt.Errorf("migrations: take the migration lock: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "SELECT "+m.function(fn)+"()"); err != nil {
		if sqlState(err) == "42501" { // insufficient_privilege
			return fmt.Errorf("%w: %s needs a superuser (event triggers): %w", ErrNotPermitted, what, err)
		}
		return fmt.Errorf("migrations: %s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrations: %s: %w", what, err)
	}
	return nil
}
