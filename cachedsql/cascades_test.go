package cachedsql_test

import (
	"context"
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dogpile-go/dogpile/cachedsql"
)

// PostgresCascades lists the tables whose foreign keys' actions write
// them; WithCascades then makes a write reach their reads, down a chain of
// such keys, and leaves the reads of the referenced table alone when the
// referencing one is written.
func TestPostgresCascades(t *testing.T) {
	ctx := context.Background()
	setup, dsn := newDB(t)
	for _, stmt := range []string{
		`CREATE TABLE orgs (id int PRIMARY KEY)`,
		`CREATE TABLE members (id int PRIMARY KEY, org_id int REFERENCES orgs ON DELETE CASCADE)`,
		`CREATE TABLE roles (id int PRIMARY KEY, member_id int REFERENCES members ON UPDATE CASCADE ON DELETE SET NULL)`,
		`CREATE TABLE notes (id int PRIMARY KEY, org_id int REFERENCES orgs)`, // no action: not listed
		`CREATE TABLE tree (id int PRIMARY KEY, parent int REFERENCES tree ON DELETE CASCADE)`,
		`INSERT INTO orgs VALUES (1), (2)`,
		`INSERT INTO members VALUES (10, 1), (20, 2)`,
		`INSERT INTO roles VALUES (100, 10)`,
		`INSERT INTO tree VALUES (1, NULL), (2, 1)`,
	} {
		setup.MustExec(stmt)
	}
	cascades, err := cachedsql.PostgresCascades(ctx, setup.Inner())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		`"public"."orgs"`:    {`"public"."members"`},
		`"public"."members"`: {`"public"."roles"`},
		`"public"."tree"`:    {`"public"."tree"`},
	}
	if !maps.EqualFunc(cascades, want, slices.Equal) {
		t.Fatalf("PostgresCascades = %q\nwant %q", cascades, want)
	}
	db, err := cachedsql.Connect("pgx", dsn, cachedsql.WithCascades(cascades))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(q string) int {
		t.Helper()
		var n int
		if err := db.GetContext(ctx, &n, q); err != nil {
			t.Fatal(err)
		}
		return n
	}
	const (
		qMembers = "SELECT count(*) FROM members"
		qRoles   = "SELECT count(member_id) FROM roles"
		qOrgs    = "SELECT count(*) FROM orgs"
	)
	count(qMembers)
	count(qRoles)
	db.MustExec("DELETE FROM orgs WHERE id = 1") // deletes member 10, which nulls role 100's member
	if n := count(qMembers); n != 1 {
		t.Fatalf("count(*) FROM members after the cascading delete = %d; want 1", n)
	}
	if n := count(qRoles); n != 0 {
		t.Fatalf("count(member_id) FROM roles two cascades down = %d; want 0", n)
	}

	// A write to the referencing table does not reach the referenced one:
	// its reads stay cached.
	if n := count(qOrgs); n != 1 {
		t.Fatalf("count(*) FROM orgs = %d; want 1", n)
	}
	behindTheBack(t, dsn, "INSERT INTO orgs VALUES (3)")
	db.MustExec("INSERT INTO members VALUES (30, 2)")
	if n := count(qOrgs); n != 1 {
		t.Fatalf("count(*) FROM orgs after a write to members = %d; want the cached 1", n)
	}

	// InvalidateTables reaches what a write reaches.
	count(qMembers)
	behindTheBack(t, dsn, "DELETE FROM members WHERE id = 30")
	if err := db.InvalidateTables(ctx, "orgs"); err != nil {
		t.Fatal(err)
	}
	if n := count(qMembers); n != 1 {
		t.Fatalf("count(*) FROM members after InvalidateTables(orgs) = %d; want 1", n)
	}

	// A key referencing its own table.
	const qTree = "SELECT count(*) FROM tree"
	count(qTree)
	db.MustExec("DELETE FROM tree WHERE id = 1")
	if n := count(qTree); n != 0 {
		t.Fatalf("count(*) FROM tree after deleting the root = %d; want 0", n)
	}
}

// Cascades reach the partitions WithViews lists behind a partitioned
// table they land in.
func TestCascadeIntoPartitions(t *testing.T) {
	ctx := context.Background()
	setup, dsn := newDB(t)
	for _, stmt := range []string{
		`CREATE TABLE orgs (id int PRIMARY KEY)`,
		`CREATE TABLE events (id int, org_id int REFERENCES orgs ON DELETE CASCADE) PARTITION BY RANGE (id)`,
		`CREATE TABLE events_low PARTITION OF events FOR VALUES FROM (0) TO (100)`,
		`INSERT INTO orgs VALUES (1)`,
		`INSERT INTO events VALUES (5, 1)`,
	} {
		setup.MustExec(stmt)
	}
	views, err := cachedsql.PostgresViews(ctx, setup.Inner())
	if err != nil {
		t.Fatal(err)
	}
	cascades, err := cachedsql.PostgresCascades(ctx, setup.Inner())
	if err != nil {
		t.Fatal(err)
	}
	db, err := cachedsql.Connect("pgx", dsn, cachedsql.WithViews(views), cachedsql.WithCascades(cascades))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.GetContext(ctx, &n, "SELECT count(*) FROM events_low"); err != nil || n != 1 {
		t.Fatalf("count = %d, %v", n, err)
	}
	db.MustExec("DELETE FROM orgs")
	if err := db.GetContext(ctx, &n, "SELECT count(*) FROM events_low"); err != nil || n != 0 {
		t.Fatalf("count(*) FROM events_low after the cascading delete = %d, %v; want 0", n, err)
	}
}

func TestWithCascadesBadNames(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cascades map[string][]string
		say      string
	}{
		{"table", map[string][]string{"not a table": {"items"}}, `"not a table" is not a table name (WithCascades: a table)`},
		{"reached", map[string][]string{"orgs": {"members", "1+1"}}, `"1+1" is not a table name (WithCascades: a table reached from "orgs")`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := cachedsql.Open("pgx", "postgres://unused", cachedsql.WithCascades(tc.cascades))
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, cachedsql.ErrBadOption) || !strings.Contains(err.Error(), tc.say) {
				t.Fatalf("Open = %v; want ErrBadOption saying %s", err, tc.say)
			}
		})
	}
}

// SQLiteCascades reads the foreign keys of a SQLite schema.
func TestSQLiteCascades(t *testing.T) {
	ctx := context.Background()
	dsn := "file:" + filepath.Join(t.TempDir(), "app.db") + "?_pragma=foreign_keys(1)"
	db, err := cachedsql.Connect("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range []string{
		`CREATE TABLE Orgs (id INTEGER PRIMARY KEY)`,
		`CREATE TABLE members (id INTEGER PRIMARY KEY, org_id INTEGER REFERENCES Orgs ON DELETE CASCADE)`,
		`CREATE TABLE notes (id INTEGER PRIMARY KEY, org_id INTEGER REFERENCES Orgs)`,
		`INSERT INTO Orgs VALUES (1)`,
		`INSERT INTO members VALUES (10, 1)`,
	} {
		db.MustExec(stmt)
	}
	cascades, err := cachedsql.SQLiteCascades(ctx, db.Inner())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		`"Orgs"`: {`"members"`},
		`"orgs"`: {`"members"`},
	}
	if !maps.EqualFunc(cascades, want, slices.Equal) {
		t.Fatalf("SQLiteCascades = %q\nwant %q", cascades, want)
	}
	cdb, err := cachedsql.Connect("sqlite", dsn, cachedsql.WithCascades(cascades))
	if err != nil {
		t.Fatal(err)
	}
	defer cdb.Close()
	var n int
	if err := cdb.GetContext(ctx, &n, "SELECT count(*) FROM members"); err != nil || n != 1 {
		t.Fatalf("count = %d, %v", n, err)
	}
	cdb.MustExec("DELETE FROM orgs")
	if err := cdb.GetContext(ctx, &n, "SELECT count(*) FROM members"); err != nil || n != 0 {
		t.Fatalf("count(*) FROM members after the cascading delete = %d, %v; want 0", n, err)
	}
}
