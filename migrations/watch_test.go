package migrations_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/dogpile-go/dogpile/cachedsql/sqlanalysis"
	"github.com/dogpile-go/dogpile/internal/testenv"
	"github.com/dogpile-go/dogpile/migrations"
)

// TestWritesNotify: every kind of write, made by psql (a process that is
// not this one), sends one notification naming the table on commit.
func TestWritesNotify(t *testing.T) {
	dsn, db, m := installed(t)
	exec(t, db, "CREATE TABLE items (id int PRIMARY KEY, n int)", "INSERT INTO items SELECT g, 0 FROM generate_series(1, 10) g")
	if err := m.Watch(t.Context(), "items"); err != nil {
		t.Fatal(err)
	}
	l := listen(t, dsn, db, m.Channel())
	for _, tc := range []struct {
		name, sql string
		want      []string
	}{
		{"insert", "INSERT INTO items VALUES (100, 1)", []string{"public.items"}},
		{"update", "UPDATE items SET n = n + 1 WHERE id = 1", []string{"public.items"}},
		{"update of no rows", "UPDATE items SET n = 0 WHERE id < 0", []string{"public.items"}},
		{"delete", "DELETE FROM items WHERE id = 100", []string{"public.items"}},
		{"upsert", "INSERT INTO items VALUES (1, 5) ON CONFLICT (id) DO UPDATE SET n = excluded.n", []string{"public.items"}},
		{"merge", "MERGE INTO items i USING (VALUES (2, 7)) v(id, n) ON i.id = v.id WHEN MATCHED THEN UPDATE SET n = v.n", []string{"public.items"}},
		{"copy", "COPY items FROM PROGRAM 'echo 200,1' WITH (FORMAT csv)", []string{"public.items"}},
		{"truncate", "TRUNCATE items", []string{"public.items"}},
		{"read", "SELECT * FROM items", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testenv.Psql(t, dsn, tc.sql)
			l.expect(tc.want...)
		})
	}
}

// TestTransactions: NOTIFY is transactional, and repeated writes to one
// table in a transaction send one notification: the payload is the same
// for every statement, and PostgreSQL delivers identical notifications of
// one transaction once.
func TestTransactions(t *testing.T) {
	dsn, db, m := installed(t)
	exec(t, db, "CREATE TABLE a (id int, n int)", "CREATE TABLE b (id int)", "CREATE TABLE c (id int)",
		"INSERT INTO a VALUES (1, 0)")
	if err := m.Watch(t.Context(), "a", "b"); err != nil {
		t.Fatal(err)
	}
	l := listen(t, dsn, db, m.Channel())

	t.Run("rolled back", func(t *testing.T) {
		testenv.Psql(t, dsn, "BEGIN; INSERT INTO a VALUES (2, 0); UPDATE b SET id = 1; ROLLBACK;")
		l.expect()
	})
	t.Run("rolled back to a savepoint", func(t *testing.T) {
		testenv.Psql(t, dsn, "BEGIN; SAVEPOINT s; INSERT INTO b VALUES (1); ROLLBACK TO s; INSERT INTO a VALUES (3, 0); COMMIT;")
		l.expect("public.a")
	})
	t.Run("one table inside and outside a savepoint", func(t *testing.T) {
		testenv.Psql(t, dsn, "BEGIN; UPDATE a SET n = 1; SAVEPOINT s; UPDATE a SET n = 2; RELEASE s; SAVEPOINT t; UPDATE a SET n = 3; COMMIT;")
		l.expect("public.a")
	})
	t.Run("100 statements on one table", func(t *testing.T) {
		testenv.Psql(t, dsn, "BEGIN;\n"+strings.Repeat("UPDATE a SET n = n + 1;\n", 100)+"COMMIT;")
		l.expect("public.a")
	})
	t.Run("two tables", func(t *testing.T) {
		testenv.Psql(t, dsn, "BEGIN; UPDATE a SET n = 0; INSERT INTO b VALUES (1); UPDATE a SET n = 1; DELETE FROM b; COMMIT;")
		l.expect("public.a", "public.b")
	})
	t.Run("unwatched table", func(t *testing.T) {
		testenv.Psql(t, dsn, "INSERT INTO c VALUES (1)")
		l.expect()
	})
	t.Run("two transactions", func(t *testing.T) {
		testenv.Psql(t, dsn, "INSERT INTO a VALUES (4, 0); INSERT INTO a VALUES (5, 0);")
		l.expect("public.a", "public.a")
	})
}

// TestUnwatch: Unwatch stops the notifications; Watch and Unwatch are
// idempotent.
func TestUnwatch(t *testing.T) {
	dsn, db, m := installed(t)
	ctx := t.Context()
	exec(t, db, "CREATE TABLE a (id int)", "CREATE TABLE b (id int)")
	l := listen(t, dsn, db, m.Channel())
	wantWatched := func(want ...string) {
		t.Helper()
		got, err := m.Watched(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("Watched = %q, want %q", got, want)
		}
	}
	triggers := func() int {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM pg_trigger WHERE tgname = 'dogpile_notify'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	wantWatched()
	for range 2 {
		if err := m.Watch(ctx, "a", "b", "a"); err != nil {
			t.Fatal(err)
		}
	}
	if n := triggers(); n != 2 {
		t.Errorf("%d triggers after watching a and b twice, want 2", n)
	}
	wantWatched("public.a", "public.b")

	for range 2 {
		if err := m.Unwatch(ctx, "a"); err != nil {
			t.Fatal(err)
		}
	}
	wantWatched("public.b")
	testenv.Psql(t, dsn, "INSERT INTO a VALUES (1); INSERT INTO b VALUES (1);")
	l.expect("public.b")

	// A disabled trigger is not watching; Watch enables it again, to fire
	// always.
	exec(t, db, "ALTER TABLE b DISABLE TRIGGER dogpile_notify")
	wantWatched()
	if err := m.Watch(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	wantWatched("public.b")
	var enabled string
	if err := db.QueryRowContext(ctx, "SELECT tgenabled::text FROM pg_trigger WHERE tgname = 'dogpile_notify'").Scan(&enabled); err != nil || enabled != "A" {
		t.Errorf("tgenabled = %q, %v; want A (always)", enabled, err)
	}

	if err := m.Unwatch(ctx, "a", "b"); err != nil {
		t.Fatal(err)
	}
	wantWatched()
	testenv.Psql(t, dsn, "INSERT INTO a VALUES (2); INSERT INTO b VALUES (2);")
	l.expect()
	if err := m.Watch(ctx); err != nil {
		t.Errorf("Watch of no tables: %v", err)
	}
}

// TestNames: tables with quoted mixed-case names, in other schemas, with
// dots, quotes and long names are watched and named exactly.
func TestNames(t *testing.T) {
	dsn, db, m := installed(t)
	long := strings.Repeat(`"`, 63) // the longest tag: every character quoted
	exec(t, db,
		`CREATE TABLE "MixedCase" (id int)`,
		`CREATE SCHEMA sales`,
		`CREATE TABLE sales.orders (id int)`,
		`CREATE SCHEMA "Odd.Schema"`,
		`CREATE TABLE "Odd.Schema"."we""ird name" (id int)`,
		`CREATE TABLE "café" (id int)`,
		`CREATE TABLE "select" (id int)`,
		`CREATE TABLE "t$1" (id int)`,
		fmt.Sprintf(`CREATE SCHEMA "%s"`, strings.ReplaceAll(long, `"`, `""`)),
		fmt.Sprintf(`CREATE TABLE "%[1]s"."%[1]s" (id int)`, strings.ReplaceAll(long, `"`, `""`)),
	)
	tables := []struct{ sql, schema, table, tag string }{
		{`"MixedCase"`, "public", "MixedCase", `public."MixedCase"`},
		{`sales.orders`, "sales", "orders", `sales.orders`},
		{`"Odd.Schema"."we""ird name"`, "Odd.Schema", `we"ird name`, `"Odd.Schema"."we""ird name"`},
		{`"café"`, "public", "café", `public."café"`},
		{`"select"`, "public", "select", `public.select`},
		{`"t$1"`, "public", "t$1", `public.t$1`},
		{fmt.Sprintf(`"%[1]s"."%[1]s"`, strings.ReplaceAll(long, `"`, `""`)), long, long,
			`"` + strings.Repeat(`""`, 63) + `"."` + strings.Repeat(`""`, 63) + `"`},
	}
	l := listen(t, dsn, db, m.Channel())
	var all []string
	for _, tc := range tables {
		t.Run(tc.tag, func(t *testing.T) {
			if got := migrations.FormatTable(tc.schema, tc.table); got != tc.tag {
				t.Errorf("FormatTable(%q, %q) = %q, want %q", tc.schema, tc.table, got, tc.tag)
			}
			var sqlTag string
			if err := db.QueryRowContext(t.Context(), "SELECT dogpile.table_tag($1, $2)", tc.schema, tc.table).Scan(&sqlTag); err != nil || sqlTag != tc.tag {
				t.Errorf("dogpile.table_tag(%q, %q) = %q, %v; want %q", tc.schema, tc.table, sqlTag, err, tc.tag)
			}
			if err := m.Watch(t.Context(), tc.sql); err != nil {
				t.Fatal(err)
			}
			testenv.Psql(t, dsn, "INSERT INTO "+tc.sql+" VALUES (1)")
			l.expect(tc.tag)
			c, err := migrations.ParsePayload(tc.tag)
			if err != nil || c != (migrations.Change{Schema: tc.schema, Table: tc.table}) {
				t.Errorf("ParsePayload(%q) = %+v, %v", tc.tag, c, err)
			}
		})
		all = append(all, tc.tag)
	}
	if len(all[len(all)-1]) != 2*(2*63+2)+1 {
		t.Errorf("the longest tag is %d bytes, want 257", len(all[len(all)-1]))
	}
	got, err := m.Watched(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(all) // byte order, as Watched sorts
	if !slices.Equal(got, all) {
		t.Errorf("Watched = %q, want %q", got, all)
	}
}

// TestWatchErrors: a clear error wrapping a sentinel for each mistake, and
// nothing watched when one table of several fails.
func TestWatchErrors(t *testing.T) {
	_, db, m := installed(t)
	ctx := t.Context()
	exec(t, db,
		`CREATE TABLE items (id int)`,
		`CREATE TABLE "MixedCase" (id int)`,
		`CREATE VIEW items_view AS SELECT * FROM items`,
		`CREATE MATERIALIZED VIEW items_mv AS SELECT * FROM items`,
		`CREATE SEQUENCE seq`,
		`CREATE TABLE other (id int)`,
		`CREATE FUNCTION not_dogpile() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$`,
		`CREATE TRIGGER dogpile_notify AFTER INSERT ON other FOR EACH STATEMENT EXECUTE FUNCTION not_dogpile()`,
	)
	for _, tc := range []struct {
		name   string
		tables []string
		want   error
		msg    string
	}{
		{"missing table", []string{"nope"}, migrations.ErrNoSuchTable, `migrations: no such table: "nope"`},
		{"missing schema", []string{"nope.items"}, migrations.ErrNoSuchTable, `"nope.items"`},
		{"mixed case unquoted", []string{"MixedCase"}, migrations.ErrNoSuchTable, `in double quotes if it has capitals`},
		{"not a name", []string{"a.b.c.d"}, migrations.ErrNoSuchTable, `"a.b.c.d" is not a table name`},
		{"view", []string{"items_view"}, migrations.ErrNotWatchable, `it is a view`},
		{"materialized view", []string{"items_mv"}, migrations.ErrNotWatchable, `it is a materialized view`},
		{"sequence", []string{"seq"}, migrations.ErrNotWatchable, `it is a sequence`},
		{"someone else's trigger", []string{"other"}, migrations.ErrTriggerConflict, `already has a trigger named dogpile_notify`},
		{"one bad of several", []string{"items", `"MixedCase"`, "nope"}, migrations.ErrNoSuchTable, `"nope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := m.Watch(ctx, tc.tables...)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Watch(%q): %v, want %v", tc.tables, err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
		})
	}
	if w, err := m.Watched(ctx); err != nil || len(w) != 0 {
		t.Errorf("Watched after failed Watches = %q, %v; want none (each Watch is all or nothing)", w, err)
	}
	if err := m.Unwatch(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM pg_trigger WHERE tgname = 'dogpile_notify'").Scan(&n); err != nil || n != 1 {
		t.Errorf("Unwatch removed someone else's trigger (%d left, %v)", n, err)
	}
	if err := m.Unwatch(ctx, "nope"); !errors.Is(err, migrations.ErrNoSuchTable) {
		t.Errorf("Unwatch(nope): %v, want ErrNoSuchTable", err)
	}

	// Before Up, and in a schema never installed.
	_, fresh := openDB(t)
	for _, call := range []func() error{
		func() error { return migrations.Watch(ctx, fresh, "items") },
		func() error { return migrations.Unwatch(ctx, fresh, "items") },
		func() error { _, err := migrations.Watched(ctx, fresh); return err },
		func() error { return migrations.Notify(ctx, fresh, "items") },
		func() error { return migrations.NotifyAll(ctx, fresh) },
	} {
		if err := call(); !errors.Is(err, migrations.ErrNotInstalled) {
			t.Errorf("before Up: %v, want ErrNotInstalled", err)
		}
	}
}

// TestPartitions: a write to a partition changes its ancestors, a write
// through a partitioned table changes its partitions; PostgreSQL fires
// only the named table's statement triggers, so the trigger names the rest.
func TestPartitions(t *testing.T) {
	dsn, db, m := installed(t)
	exec(t, db,
		"CREATE TABLE events (id int) PARTITION BY RANGE (id)",
		"CREATE TABLE events_low PARTITION OF events FOR VALUES FROM (0) TO (100)",
		"CREATE TABLE events_high PARTITION OF events FOR VALUES FROM (100) TO (200) PARTITION BY RANGE (id)",
		"CREATE TABLE events_high_a PARTITION OF events_high FOR VALUES FROM (100) TO (150)",
		"CREATE TABLE events_high_b PARTITION OF events_high FOR VALUES FROM (150) TO (200)",
	)
	// Watching a partition watches the tables above it, through which
	// it is written too.
	if err := m.Watch(t.Context(), "events_high_a"); err != nil {
		t.Fatal(err)
	}
	got, err := m.Watched(t.Context())
	if want := []string{"public.events", "public.events_high", "public.events_high_a"}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("Watched = %q, %v; want %q", got, err, want)
	}
	l := listen(t, dsn, db, m.Channel())
	testenv.Psql(t, dsn, "INSERT INTO events_high_a VALUES (120)")
	l.expect("public.events_high_a", "public.events_high", "public.events")
	testenv.Psql(t, dsn, "INSERT INTO events_high VALUES (121)")
	l.expect("public.events_high", "public.events", "public.events_high_a", "public.events_high_b")

	// Watching the root watches every partition.
	if err := m.Watch(t.Context(), "events"); err != nil {
		t.Fatal(err)
	}
	testenv.Psql(t, dsn, "INSERT INTO events_low VALUES (1)")
	l.expect("public.events_low", "public.events")
	testenv.Psql(t, dsn, "TRUNCATE events")
	l.expect("public.events", "public.events_low", "public.events_high", "public.events_high_a", "public.events_high_b")

	// Unwatching a partition leaves the tables above it.
	if err := m.Unwatch(t.Context(), "events_high"); err != nil {
		t.Fatal(err)
	}
	got, _ = m.Watched(t.Context())
	if want := []string{"public.events", "public.events_low"}; !slices.Equal(got, want) {
		t.Errorf("Watched after Unwatch(events_high) = %q, want %q", got, want)
	}
}

// TestInheritance: tables related by INHERITS are handled as partitions
// are. A read of the parent returns the children's rows, and a write
// through the parent changes them, while PostgreSQL fires only the
// statement triggers of the table a statement names (found in an audit:
// only partition trees were followed).
func TestInheritance(t *testing.T) {
	dsn, db, m := installed(t)
	exec(t, db,
		"CREATE TABLE animals (id int, name text)",
		"CREATE TABLE dogs (breed text) INHERITS (animals)",
		"CREATE TABLE puppies () INHERITS (dogs)",
		"CREATE TABLE cats () INHERITS (animals)",
	)
	// Watching a child watches its ancestors; watching the root, every
	// descendant.
	if err := m.Watch(t.Context(), "dogs"); err != nil {
		t.Fatal(err)
	}
	got, err := m.Watched(t.Context())
	if want := []string{"public.animals", "public.dogs", "public.puppies"}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("Watched after Watch(dogs) = %q, %v; want %q", got, err, want)
	}
	l := listen(t, dsn, db, m.Channel())
	testenv.Psql(t, dsn, "INSERT INTO puppies VALUES (1, 'rex', 'lab')")
	l.expect("public.puppies", "public.dogs", "public.animals")
	testenv.Psql(t, dsn, "UPDATE dogs SET name = 'max'")
	l.expect("public.dogs", "public.animals", "public.puppies")
	if err := m.Watch(t.Context(), "animals"); err != nil {
		t.Fatal(err)
	}
	testenv.Psql(t, dsn, "DELETE FROM animals")
	l.expect("public.animals", "public.dogs", "public.puppies", "public.cats")

	// Unwatching a child leaves the tables above it.
	if err := m.Unwatch(t.Context(), "dogs"); err != nil {
		t.Fatal(err)
	}
	got, _ = m.Watched(t.Context())
	if want := []string{"public.animals", "public.cats"}; !slices.Equal(got, want) {
		t.Errorf("Watched after Unwatch(dogs) = %q, want %q", got, want)
	}
}

// TestIndirectWrites: writes made by a foreign key's cascade,
// by a trigger on another table, and in a session that skips ordinary
// triggers (session_replication_role = replica) all notify.
func TestIndirectWrites(t *testing.T) {
	dsn, db, m := installed(t)
	exec(t, db,
		"CREATE TABLE parents (id int PRIMARY KEY)",
		"CREATE TABLE children (id int, parent int REFERENCES parents ON DELETE CASCADE)",
		"CREATE TABLE audit (n int)",
		"CREATE TABLE source (id int)",
		`CREATE FUNCTION copy_to_audit() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN INSERT INTO audit VALUES (1); RETURN NULL; END $$`,
		"CREATE TRIGGER to_audit AFTER INSERT ON source FOR EACH STATEMENT EXECUTE FUNCTION copy_to_audit()",
		"INSERT INTO parents VALUES (1), (2)",
		"INSERT INTO children VALUES (1, 1), (2, 2)",
	)
	if err := m.Watch(t.Context(), "children", "audit"); err != nil {
		t.Fatal(err)
	}
	l := listen(t, dsn, db, m.Channel())
	testenv.Psql(t, dsn, "DELETE FROM parents WHERE id = 1")
	l.expect("public.children")
	testenv.Psql(t, dsn, "INSERT INTO source VALUES (1)")
	l.expect("public.audit")
	testenv.Psql(t, dsn, "SET session_replication_role = replica; INSERT INTO audit VALUES (2)")
	l.expect("public.audit")
}

// TestOtherRoleWrites: a role with no privilege on dogpile's schema can
// write to a watched table, and the write notifies.
func TestOtherRoleWrites(t *testing.T) {
	dsn, db, m := installed(t)
	exec(t, db, "CREATE TABLE items (id int)")
	if err := m.Watch(t.Context(), "items"); err != nil {
		t.Fatal(err)
	}
	exec(t, db, "CREATE ROLE dogpile_writer_test", "GRANT INSERT ON items TO dogpile_writer_test")
	t.Cleanup(func() {
		db.Exec("DROP OWNED BY dogpile_writer_test")
		db.Exec("DROP ROLE dogpile_writer_test")
	})
	l := listen(t, dsn, db, m.Channel())
	testenv.Psql(t, dsn, "SET ROLE dogpile_writer_test; INSERT INTO items VALUES (1)")
	l.expect("public.items")
}

// TestNotify: notifications sent by hand.
func TestNotify(t *testing.T) {
	dsn, db, m := installed(t)
	exec(t, db,
		"CREATE TABLE items (id int)",
		"CREATE TABLE p (id int) PARTITION BY LIST (id)",
		"CREATE TABLE p1 PARTITION OF p FOR VALUES IN (1)",
	)
	l := listen(t, dsn, db, m.Channel())
	if err := m.NotifyAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	l.expect(migrations.PayloadAll)
	if err := m.Notify(t.Context(), "items", "p1", "items"); err != nil {
		t.Fatal(err)
	}
	l.expect("public.items", "public.p1", "public.p")
	testenv.Psql(t, dsn, "BEGIN; SELECT dogpile.notify_all(); SELECT dogpile.notify_all(); SELECT dogpile.notify('items', 'items'); COMMIT;")
	l.expect(migrations.PayloadAll, "public.items")
	if err := m.Notify(t.Context(), "nope"); !errors.Is(err, migrations.ErrNoSuchTable) {
		t.Errorf("Notify(nope): %v, want ErrNoSuchTable", err)
	}
}

// TestDownAllUnwatches: rolling back migration 1 removes the triggers, and
// installing again does not bring them back.
func TestDownAllUnwatches(t *testing.T) {
	dsn, db, m := installed(t)
	exec(t, db, "CREATE TABLE items (id int)")
	if err := m.Watch(t.Context(), "items"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.DownAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	l := listen(t, dsn, db, m.Channel())
	testenv.Psql(t, dsn, "INSERT INTO items VALUES (1)")
	l.expect()
	if _, err := m.Up(t.Context()); err != nil {
		t.Fatal(err)
	}
	if w, err := m.Watched(t.Context()); err != nil || len(w) != 0 {
		t.Errorf("Watched after DownAll and Up = %q, %v; want none", w, err)
	}
}

// TestTableTagAgreesWithFormatTable: the SQL that names tables in payloads,
// the Go that listeners use to name them, and the SQL analyzer's tags agree
// on every name.
func TestTableTagAgreesWithFormatTable(t *testing.T) {
	_, db, _ := installed(t)
	alphabet := []string{"a", "z", "Z", "_", "$", "0", "9", `"`, ".", " ", "é", "*", "'", "\\"}
	rng := rand.New(rand.NewPCG(1, 2))
	name := func() string {
		var b strings.Builder
		for range 1 + rng.IntN(6) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	for range 300 {
		schema, table := name(), name()
		var got string
		if err := db.QueryRowContext(t.Context(), "SELECT dogpile.table_tag($1, $2)", schema, table).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if want := migrations.FormatTable(schema, table); got != want {
			t.Errorf("dogpile.table_tag(%q, %q) = %q, FormatTable = %q", schema, table, got, want)
		}
		if want := (sqlanalysis.Table{Schema: schema, Name: table}).String(); got != want {
			t.Errorf("dogpile.table_tag(%q, %q) = %q, sqlanalysis = %q", schema, table, got, want)
		}
	}
}
