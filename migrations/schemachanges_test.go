package migrations_test

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"sync/atomic"
	"testing"

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
