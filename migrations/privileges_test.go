package migrations_test

import (
	"database/sql"
	"net/url"
	"strings"
	"testing"

	"github.com/dogpile-go/dogpile/migrations"
)

// asRole returns a *sql.DB on dsn whose sessions run as role, created
// here with LOGIN and dropped at the end of the test.
func asRole(t *testing.T, dsn string, db *sql.DB, role string) *sql.DB {
	t.Helper()
	exec(t, db, "CREATE ROLE "+role+" LOGIN")
	t.Cleanup(func() {
		// Roles are per server, which other tests share.
		db.Exec("DROP OWNED BY " + role)
		db.Exec("DROP ROLE " + role)
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("options", "-c role="+role)
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20") // pgx reads + as itself
	rdb, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	var got string
	if err := rdb.QueryRowContext(t.Context(), "SELECT current_user").Scan(&got); err != nil || got != role {
		t.Fatalf("cannot connect as %s (current_user %q, %v)", role, got, err)
	}
	return rdb
}

// installedWithoutDefaultExecute installs the migrations in a database
// whose functions, made from then on, are executable by their owner only,
// as a hardened database's are (ALTER DEFAULT PRIVILEGES is per database,
// and each test has its own).
func installedWithoutDefaultExecute(t *testing.T) (string, *sql.DB, *migrations.Migrator) {
	t.Helper()
	dsn, db := openDB(t)
	exec(t, db, "ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC")
	m, err := migrations.New(db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(t.Context()); err != nil {
		t.Fatal(err)
	}
	return dsn, db, m
}

// TestOtherRoleWritesWithoutDefaultExecute: where default privileges
// revoke EXECUTE from PUBLIC, a role that may write to a watched table can
// still do so: the trigger calls only functions granted to PUBLIC
// explicitly, migration 4's related() among them.
func TestOtherRoleWritesWithoutDefaultExecute(t *testing.T) {
	dsn, db, m := installedWithoutDefaultExecute(t)
	exec(t, db, "CREATE TABLE items (id int)")
	if err := m.Watch(t.Context(), "items"); err != nil {
		t.Fatal(err)
	}
	writer := asRole(t, dsn, db, "dogpile_nox_writer_test")
	exec(t, db, "GRANT INSERT ON items TO dogpile_nox_writer_test")
	l := listen(t, dsn, db, m.Channel())
	if _, err := writer.ExecContext(t.Context(), "INSERT INTO items VALUES (1)"); err != nil {
		t.Fatalf("a write by another role fails in dogpile's trigger: %v", err)
	}
	l.expect("public.items")
}

// TestSchemaChangesWithoutDefaultExecute: where default privileges revoke
// EXECUTE from PUBLIC, the event trigger of WatchSchemaChanges does not
// make every other role's ALTER TABLE fail.
func TestSchemaChangesWithoutDefaultExecute(t *testing.T) {
	dsn, db, m := installedWithoutDefaultExecute(t)
	if err := m.WatchSchemaChanges(t.Context()); err != nil {
		t.Fatal(err)
	}
	owner := asRole(t, dsn, db, "dogpile_nox_owner_test")
	exec(t, db, "GRANT CREATE ON SCHEMA public TO dogpile_nox_owner_test")
	l := listen(t, dsn, db, m.Channel())
	for _, s := range []string{"CREATE TABLE owned (id int)", "ALTER TABLE owned ADD COLUMN n int"} {
		if _, err := owner.ExecContext(t.Context(), s); err != nil {
			t.Fatalf("%s by a table's owner fails in dogpile's event trigger: %v", s, err)
		}
	}
	l.expect(migrations.PayloadAll)
}

// TestUpInPreparedSchema: a DBA creates the schema for the application's
// role, which may not create schemas in the database; that role's Up
// installs everything, as Up's documentation says (only a missing schema
// needs the CREATE privilege on the database).
func TestUpInPreparedSchema(t *testing.T) {
	dsn, db := openDB(t)
	app := asRole(t, dsn, db, "dogpile_schema_owner_test")
	exec(t, db, "CREATE SCHEMA dogpile AUTHORIZATION dogpile_schema_owner_test")
	res, err := migrations.Up(t.Context(), app)
	if err != nil {
		t.Fatalf("Up by the schema's owner, without CREATE on the database: %v (applied %q)", err, names(res))
	}
	if len(res) != int(migrations.LatestVersion()) {
		t.Errorf("Up applied %q, want every migration", names(res))
	}
}
