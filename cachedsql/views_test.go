package cachedsql_test

import (
	"context"
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/dogpile-go/dogpile/cachedsql"
)

// A read of a view is invalidated by a write to a table behind it, through
// views over views.
func TestViewReadsFollowTheirTables(t *testing.T) {
	db, _ := newDB(t, cachedsql.WithViews(map[string][]string{
		"cheap":       {"items"},
		"cheap_fruit": {"public.cheap"},
	}))
	db.MustExec("CREATE VIEW cheap AS SELECT id, name FROM items WHERE price < 5")
	db.MustExec("CREATE VIEW cheap_fruit AS SELECT name FROM cheap WHERE id = 1")
	read := func() (cheap []string, fruit string) {
		t.Helper()
		if err := db.Select(&cheap, "SELECT name FROM cheap ORDER BY id"); err != nil {
			t.Fatal(err)
		}
		if err := db.Get(&fruit, "SELECT name FROM cheap_fruit"); err != nil {
			t.Fatal(err)
		}
		return cheap, fruit
	}
	read()
	read()
	if c := created(db); c != 2 {
		t.Fatalf("%d queries for two view reads made twice; want 2 (the second time from the cache)", c)
	}
	db.MustExec("UPDATE items SET name = 'apricot' WHERE id = 1")
	if cheap, fruit := read(); !slices.Equal(cheap, []string{"apricot", "bread"}) || fruit != "apricot" {
		t.Fatalf("after a write to items: cheap = %q, cheap_fruit = %q; want the write seen through both views", cheap, fruit)
	}
}

// A write through an updatable view invalidates the reads of its table.
func TestWriteThroughViewInvalidatesItsTable(t *testing.T) {
	db, _ := newDB(t, cachedsql.WithViews(map[string][]string{"cheap": {"items"}}))
	db.MustExec("CREATE VIEW cheap AS SELECT id, name FROM items WHERE price < 5")
	var name string
	if err := db.Get(&name, "SELECT name FROM items WHERE id = 1"); err != nil || name != "apple" {
		t.Fatalf("read = %q, %v", name, err)
	}
	db.MustExec("UPDATE cheap SET name = 'apricot' WHERE id = 1")
	if err := db.Get(&name, "SELECT name FROM items WHERE id = 1"); err != nil || name != "apricot" {
		t.Fatalf("read after an update through the view = %q, %v; want apricot", name, err)
	}
}

// Views declared in a cycle (which PostgreSQL never makes) open, and each
// still brings the tables of the other.
func TestWithViewsCycle(t *testing.T) {
	db, _ := newDB(t, cachedsql.WithViews(map[string][]string{
		"a": {"b"},
		"b": {"a", "items"},
	}))
	db.MustExec("CREATE VIEW b AS SELECT id, name FROM items")
	db.MustExec("CREATE VIEW a AS SELECT name FROM b WHERE id = 1")
	var name string
	if err := db.Get(&name, "SELECT name FROM a"); err != nil || name != "apple" {
		t.Fatalf("read = %q, %v", name, err)
	}
	db.MustExec("UPDATE items SET name = 'apricot' WHERE id = 1")
	if err := db.Get(&name, "SELECT name FROM a"); err != nil || name != "apricot" {
		t.Fatalf("read after a write to items = %q, %v; want apricot", name, err)
	}
}

func TestWithViewsBadNames(t *testing.T) {
	for _, tc := range []struct {
		name  string
		views map[string][]string
		say   string
	}{
		{"view", map[string][]string{"not a table": {"items"}}, `"not a table" is not a table name (WithViews: a view)`},
		{"table", map[string][]string{"cheap": {"items", "1+1"}}, `"1+1" is not a table name (WithViews: a table of view "cheap")`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := cachedsql.Open("pgx", "postgres://unused", cachedsql.WithViews(tc.views))
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

// PostgresViews reads every view's relations, quoted, and leaves out
// materialized views; WithViews takes its map as it is.
func TestPostgresViews(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	for _, stmt := range []string{
		`CREATE VIEW cheap AS SELECT id, name FROM items WHERE price < 5`,
		`CREATE VIEW cheap_fruit AS SELECT name FROM cheap WHERE id = 1`,
		`CREATE SCHEMA "Odd.Schema"`,
		`CREATE TABLE "Odd.Schema"."we""ird" (id int, note text)`,
		`CREATE VIEW "Odd.Schema"."V" AS SELECT i.name, w.note FROM items i JOIN "Odd.Schema"."we""ird" w USING (id)`,
		`CREATE VIEW "select" AS SELECT 1 AS one`,
		`CREATE MATERIALIZED VIEW totals AS SELECT sum(price) FROM items`,
	} {
		db.MustExec(stmt)
	}
	views, err := cachedsql.PostgresViews(ctx, db.Inner())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		`"public"."cheap"`:       {`"public"."items"`},
		`"public"."cheap_fruit"`: {`"public"."cheap"`},
		`"Odd.Schema"."V"`:       {`"Odd.Schema"."we""ird"`, `"public"."items"`},
	}
	if !maps.EqualFunc(views, want, slices.Equal) {
		t.Fatalf("PostgresViews = %q\nwant %q", views, want)
	}

	// The map opens a DB whose view reads follow their tables.
	vdb, _ := newDB(t, cachedsql.WithViews(views))
	for _, stmt := range []string{
		`CREATE SCHEMA "Odd.Schema"`,
		`CREATE TABLE "Odd.Schema"."we""ird" (id int, note text)`,
		`INSERT INTO "Odd.Schema"."we""ird" VALUES (1, 'crisp')`,
		`CREATE VIEW "Odd.Schema"."V" AS SELECT i.name, w.note FROM items i JOIN "Odd.Schema"."we""ird" w USING (id)`,
	} {
		vdb.MustExec(stmt)
	}
	const q = `SELECT note FROM "Odd.Schema"."V" WHERE name = 'apple'`
	var note string
	if err := vdb.Get(&note, q); err != nil || note != "crisp" {
		t.Fatalf("read = %q, %v", note, err)
	}
	vdb.MustExec(`UPDATE "Odd.Schema"."we""ird" SET note = 'soft'`)
	if err := vdb.Get(&note, q); err != nil || note != "soft" {
		t.Fatalf("read after a write to a table behind the view = %q, %v; want soft", note, err)
	}
}

// SQLiteViews reads the tables behind SQLite views from their definitions;
// WithViews then makes a view's reads follow them.
func TestSQLiteViews(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "app.db")
	setup, err := cachedsql.Connect("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer setup.Close()
	for _, stmt := range []string{
		`CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL)`,
		`CREATE TABLE "order" (id INTEGER PRIMARY KEY, item_id INTEGER)`,
		`INSERT INTO items VALUES (1, 'apple', 1.5), (2, 'bread', 2.25)`,
		`INSERT INTO "order" VALUES (1, 1)`,
		`CREATE VIEW cheap AS SELECT id, name FROM main.items WHERE price < 2`,
		`CREATE VIEW ordered AS SELECT c.name FROM cheap c JOIN "order" o ON o.item_id = c.id`,
		`CREATE VIEW constant AS SELECT 1 AS one`,
		`CREATE VIEW CheapNames AS SELECT name FROM Cheap`,
		`CREATE VIEW odd AS SELECT name FROM items NOT INDEXED`, // SQLite-only syntax: the analyzer cannot read it
	} {
		setup.MustExec(stmt)
	}
	views, err := cachedsql.SQLiteViews(ctx, setup.Inner())
	if err == nil || !strings.Contains(err.Error(), `view "odd"`) {
		t.Fatalf("SQLiteViews error = %v; want one naming the view it could not read", err)
	}
	want := map[string][]string{
		`"cheap"`:      {`"items"`},
		`"ordered"`:    {`"cheap"`, `"order"`},
		`"CheapNames"`: {`"cheap"`},
		`"cheapnames"`: {`"cheap"`},
	}
	if !maps.EqualFunc(views, want, slices.Equal) {
		t.Fatalf("SQLiteViews = %q\nwant %q", views, want)
	}

	db, err := cachedsql.Connect("sqlite", path, cachedsql.WithViews(views))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const q = "SELECT name FROM ordered"
	var names []string
	if err := db.Select(&names, q); err != nil || !slices.Equal(names, []string{"apple"}) {
		t.Fatalf("read = %q, %v", names, err)
	}
	const qCaps = "SELECT name FROM CheapNames"
	if err := db.Select(&names, qCaps); err != nil || !slices.Equal(names, []string{"apple"}) {
		t.Fatalf("read = %q, %v", names, err)
	}
	db.MustExec("UPDATE items SET name = 'apricot' WHERE id = 1")
	if err := db.Select(&names, q); err != nil || !slices.Equal(names, []string{"apricot"}) {
		t.Fatalf("read after a write to a table two views down = %q, %v; want [apricot]", names, err)
	}
	if err := db.Select(&names, qCaps); err != nil || !slices.Equal(names, []string{"apricot"}) {
		t.Fatalf("read of a view named with capitals after the write = %q, %v; want [apricot]", names, err)
	}
}

// PostgresViews lists each table's partitions and inheritance children as
// relations behind it: a read of a parent sees writes to its children,
// and a write to a parent (which lands in a child) invalidates reads of
// the children, down the whole tree.
func TestPostgresViewsFollowInheritance(t *testing.T) {
	ctx := context.Background()
	setup, dsn := newDB(t)
	for _, stmt := range []string{
		`CREATE TABLE m (id int, v text) PARTITION BY RANGE (id)`,
		`CREATE TABLE m_low PARTITION OF m FOR VALUES FROM (0) TO (100) PARTITION BY RANGE (id)`,
		`CREATE TABLE m_low_a PARTITION OF m_low FOR VALUES FROM (0) TO (50)`,
		`CREATE TABLE base (id int)`,
		`CREATE TABLE derived (note text) INHERITS (base)`,
	} {
		setup.MustExec(stmt)
	}
	views, err := cachedsql.PostgresViews(ctx, setup.Inner())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		`"public"."m"`:     {`"public"."m_low"`},
		`"public"."m_low"`: {`"public"."m_low_a"`},
		`"public"."base"`:  {`"public"."derived"`},
	}
	if !maps.EqualFunc(views, want, slices.Equal) {
		t.Fatalf("PostgresViews = %q\nwant %q", views, want)
	}
	db, err := cachedsql.Connect("pgx", dsn, cachedsql.WithViews(views))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(table string) int {
		t.Helper()
		var n int
		if err := db.GetContext(ctx, &n, "SELECT count(*) FROM "+table); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, tc := range []struct{ write, read string }{
		{"INSERT INTO m_low_a VALUES (1)", "m"},         // a leaf partition, read through the root
		{"INSERT INTO m VALUES (2)", "m_low_a"},         // the root, read in the leaf it lands in
		{"DELETE FROM m_low WHERE id = 1", "m"},         // the middle, read through the root
		{"INSERT INTO derived VALUES (1, 'x')", "base"}, // a child, read through its parent
		{"DELETE FROM base", "derived"},                 // the parent, read in the child
	} {
		before := count(tc.read)
		count(tc.read) // cached
		res := db.MustExec(tc.write)
		n, _ := res.RowsAffected()
		if got := count(tc.read); got == before || n != 1 {
			t.Fatalf("count(*) FROM %s = %d before and after %q (%d rows); want the write seen", tc.read, got, tc.write, n)
		}
	}
}
