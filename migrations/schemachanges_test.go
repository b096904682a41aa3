package migrations_test

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/internal/testenv"
	"github.com/dogpile-go/dogpile/migrations"
)

// TestWatchSchemaChanges: with the event trigger, schema changes that
// alter what queries of existing tables return send PayloadAll; tables
// made anew send nothing, and without the trigger nothing is sent (found
// in an audit: DETACH PARTITION left cached reads of the parent stale).
func TestWatchSchemaChanges(t *testing.T) {
	dsn, db, m := installed(t)
	exec(t, db,
		"CREATE TABLE items (id int)",
		"CREATE TABLE events (id int) PARTITION BY RANGE (id)",
		"CREATE TABLE events_old PARTITION OF events FOR VALUES FROM (0) TO (100)",
		"CREATE VIEW item_ids AS SELECT id FROM items",
	)
	if on, err := m.WatchingSchemaChanges(t.Context()); err != nil || on {
		t.Fatalf("WatchingSchemaChanges before = %v, %v; want false", on, err)
	}
	l := listen(t, dsn, db, m.Channel())
	testenv.Psql(t, dsn, "ALTER TABLE items ADD COLUMN a int")
	l.expect()

	for range 2 { // idempotent
		if err := m.WatchSchemaChanges(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if on, err := m.WatchingSchemaChanges(t.Context()); err != nil || !on {
		t.Fatalf("WatchingSchemaChanges after = %v, %v; want true", on, err)
	}
	for _, stmt := range []string{
		"ALTER TABLE items ADD COLUMN b int",
		"ALTER TABLE events DETACH PARTITION events_old",
		"DROP TABLE events_old",
		"CREATE OR REPLACE VIEW item_ids AS SELECT id FROM items WHERE id > 0",
		// What a role may read: cachedsql keys results by role.
		"GRANT SELECT ON items TO PUBLIC",
		"REVOKE SELECT ON items FROM PUBLIC",
	} {
		testenv.Psql(t, dsn, stmt)
		l.expect(migrations.PayloadAll)
	}
	testenv.Psql(t, dsn, "CREATE TABLE fresh (id int)")
	l.expect()

	if err := m.UnwatchSchemaChanges(t.Context()); err != nil {
		t.Fatal(err)
	}
	testenv.Psql(t, dsn, "ALTER TABLE items ADD COLUMN c int")
	l.expect()

	// Down of migration 5 takes the event trigger with it.
	if err := m.WatchSchemaChanges(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, v := range []int64{7, 6, 5} { // migrations 6 and 7 leave the trigger
		if res, err := m.Down(t.Context()); err != nil || res.Version != v {
			t.Fatalf("Down = %+v, %v; want version %d", res, err, v)
		}
	}
	if on, err := m.WatchingSchemaChanges(t.Context()); err != nil || on {
		t.Errorf("WatchingSchemaChanges after Down = %v, %v; want false", on, err)
	}
	if err := m.WatchSchemaChanges(t.Context()); !errors.Is(err, migrations.ErrNotInstalled) {
		t.Errorf("WatchSchemaChanges after Down = %v; want ErrNotInstalled", err)
	}
}

var roles atomic.Int64

// A role that is not a superuser cannot install the event trigger, and
// says so.
func TestWatchSchemaChangesNeedsSuperuser(t *testing.T) {
	dsn, db, _ := installed(t)
	role := fmt.Sprintf("dogpile_plain_%d", roles.Add(1))
	exec(t, db, "CREATE ROLE "+role+" LOGIN", "GRANT USAGE ON SCHEMA dogpile TO "+role)
	t.Cleanup(func() { db.Exec("DROP OWNED BY " + role); db.Exec("DROP ROLE " + role) })
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	plain, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	err = migrations.WatchSchemaChanges(t.Context(), plain)
	if !errors.Is(err, migrations.ErrNotPermitted) {
		t.Fatalf("WatchSchemaChanges as %s = %v; want ErrNotPermitted", role, err)
	}
	t.Log(err)
}

// A trigger installed before version 7 misses GRANT and REVOKE; Up leaves
// it (making an event trigger needs a superuser, Up does not), and
// WatchSchemaChanges, run again, replaces it.
func TestWatchSchemaChangesUpgradesAnOlderTrigger(t *testing.T) {
	dsn, db, m := installed(t)
	exec(t, db, "CREATE TABLE items (id int)")
	if res, err := m.Down(t.Context()); err != nil || res.Version != 7 {
		t.Fatalf("Down = %+v, %v; want version 7", res, err)
	}
	if err := m.WatchSchemaChanges(t.Context()); err != nil {
		t.Fatal(err)
	}
	l := listen(t, dsn, db, m.Channel())
	testenv.Psql(t, dsn, "GRANT SELECT ON items TO PUBLIC")
	l.expect() // version 6's trigger: no GRANT

	if _, err := m.Up(t.Context()); err != nil {
		t.Fatal(err)
	}
	testenv.Psql(t, dsn, "REVOKE SELECT ON items FROM PUBLIC")
	l.expect() // Up left the trigger as it was

	if err := m.WatchSchemaChanges(t.Context()); err != nil {
		t.Fatal(err)
	}
	if on, err := m.WatchingSchemaChanges(t.Context()); err != nil || !on {
		t.Fatalf("WatchingSchemaChanges after the upgrade = %v, %v; want true", on, err)
	}
	for _, stmt := range []string{"GRANT SELECT ON items TO PUBLIC", "ALTER TABLE items ADD COLUMN a int"} {
		testenv.Psql(t, dsn, stmt)
		l.expect(migrations.PayloadAll)
	}
}

// DROP OWNED BY revokes every privilege granted to a role in the database
// (and drops the role's tables), under a tag of its own rather than REVOKE:
// a role's cached results must not outlive it any more than a REVOKE.
func TestWatchSchemaChangesDropOwned(t *testing.T) {
	dsn, db, m := installed(t)
	role := fmt.Sprintf("dogpile_owned_%d", roles.Add(1))
	exec(t, db, "CREATE TABLE items (id int)", "CREATE ROLE "+role, "GRANT SELECT ON items TO "+role)
	t.Cleanup(func() { db.Exec("DROP OWNED BY " + role); db.Exec("DROP ROLE " + role) })
	if err := m.WatchSchemaChanges(t.Context()); err != nil {
		t.Fatal(err)
	}
	l := listen(t, dsn, db, m.Channel())
	testenv.Psql(t, dsn, "DROP OWNED BY "+role)
	l.expect(migrations.PayloadAll)
}

// A trigger disabled by hand (ALTER EVENT TRIGGER ... DISABLE) answers
// nothing, and WatchingSchemaChanges says so; WatchSchemaChanges, which
// dogpile-migrate watch-ddl then runs and reports as "watching", must turn
// it back on rather than keep it because it is there.
func TestWatchSchemaChangesEnablesADisabledTrigger(t *testing.T) {
	dsn, db, m := installed(t)
	exec(t, db, "CREATE TABLE items (id int)")
	if err := m.WatchSchemaChanges(t.Context()); err != nil {
		t.Fatal(err)
	}
	l := listen(t, dsn, db, m.Channel())
	// ENABLE REPLICA: the trigger fires only in sessions replicating
	// (session_replication_role = replica), which is to say never for the
	// program's writes.
	for i, state := range []string{"DISABLE", "ENABLE REPLICA"} {
		exec(t, db, "ALTER EVENT TRIGGER "+m.TriggerName()+" "+state)
		if on, err := m.WatchingSchemaChanges(t.Context()); err != nil || on {
			t.Errorf("WatchingSchemaChanges of a trigger after %s = %v, %v; want false", state, on, err)
		}
		if err := m.WatchSchemaChanges(t.Context()); err != nil {
			t.Fatal(err)
		}
		if on, err := m.WatchingSchemaChanges(t.Context()); err != nil || !on {
			t.Errorf("WatchingSchemaChanges after WatchSchemaChanges on a trigger after %s = %v, %v; want true", state, on, err)
		}
		testenv.Psql(t, dsn, fmt.Sprintf("ALTER TABLE items ADD COLUMN a%d int", i))
		l.expect(migrations.PayloadAll)
	}
}

// Two processes running WatchSchemaChanges at once (two deploys running
// dogpile-migrate watch-ddl) both find no trigger; the second must not
// fail on the first's name.
func TestWatchSchemaChangesConcurrent(t *testing.T) {
	_, db, m := installed(t)
	ctx := t.Context()
	// The first process, stopped inside its call: under the migration
	// lock, as WatchSchemaChanges takes it, with the trigger made and not
	// committed.
	first, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Rollback()
	var pid int
	if err := first.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", migrations.LockID(m)),
		"SELECT dogpile.watch_ddl()",
	} {
		if _, err := first.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- m.WatchSchemaChanges(ctx) }()
	// Wait until the second waits, for whichever lock.
	for {
		var waiting bool
		if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> $1 AND pid <> pg_backend_pid()
			  AND wait_event_type = 'Lock')`, pid).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("WatchSchemaChanges returned %v while another session held the trigger uncommitted", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := first.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("WatchSchemaChanges racing another: %v", err)
	}
}

// SchemaChangeTriggerOutdated tells a trigger made before version 7, which
// WatchingSchemaChanges reports as watching, from a current one.
func TestSchemaChangeTriggerOutdated(t *testing.T) {
	_, _, m := installed(t)
	ctx := t.Context()
	outdated := func(want bool) {
		t.Helper()
		if got, err := m.SchemaChangeTriggerOutdated(ctx); err != nil || got != want {
			t.Errorf("SchemaChangeTriggerOutdated = %v, %v; want %v", got, err, want)
		}
	}
	outdated(false) // no trigger
	if res, err := m.Down(ctx); err != nil || res.Version != 7 {
		t.Fatalf("Down = %+v, %v; want version 7", res, err)
	}
	if err := m.WatchSchemaChanges(ctx); err != nil {
		t.Fatal(err)
	}
	outdated(true)
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	outdated(true)
	if err := m.WatchSchemaChanges(ctx); err != nil {
		t.Fatal(err)
	}
	outdated(false)
}
