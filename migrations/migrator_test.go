package migrations_test

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dogpile-go/dogpile/internal/testenv"
	"github.com/dogpile-go/dogpile/migrations"
)

// names returns the versions and names of results, as "1 notify_trigger".
func names(rs []migrations.MigrationResult) []string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%d %s %s", r.Version, r.Name, r.Direction))
	}
	return out
}

func states(st []migrations.MigrationStatus) []string {
	var out []string
	for _, s := range st {
		out = append(out, fmt.Sprintf("%d %s %s", s.Version, s.Name, s.State))
	}
	return out
}

func wantStatus(t *testing.T, m *migrations.Migrator, want ...string) {
	t.Helper()
	st, err := m.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := states(st); !slices.Equal(got, want) {
		t.Errorf("Status: got %q, want %q", got, want)
	}
	for _, s := range st {
		if (s.State == migrations.StateApplied) == s.AppliedAt.IsZero() {
			t.Errorf("Status: version %d is %s with AppliedAt %v", s.Version, s.State, s.AppliedAt)
		}
	}
}

func wantVersion(t *testing.T, m *migrations.Migrator, want int64) {
	t.Helper()
	v, err := m.Version(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if v != want {
		t.Errorf("Version = %d, want %d", v, want)
	}
}

// functions lists the functions in schema.
func functions(t *testing.T, db *sql.DB, schema string) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `
		SELECT p.oid::regprocedure::text FROM pg_proc p
		WHERE p.pronamespace = to_regnamespace($1) ORDER BY 1`, schema)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// TestFullCycle: Up applies everything, a second Up is a no-op, Down rolls
// back one migration and DownAll the rest, and Up installs it all again.
func TestFullCycle(t *testing.T) {
	_, db := openDB(t)
	ctx := t.Context()
	m, err := migrations.New(db)
	if err != nil {
		t.Fatal(err)
	}
	allPending := []string{"1 notify_trigger pending", "2 watch pending", "3 notify pending", "4 inheritance pending", "5 schema_changes pending", "6 grants pending", "7 watch_grants pending"}
	allApplied := []string{"1 notify_trigger applied", "2 watch applied", "3 notify applied", "4 inheritance applied", "5 schema_changes applied", "6 grants applied", "7 watch_grants applied"}

	wantStatus(t, m, allPending...)
	wantVersion(t, m, 0)
	var schemas int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname = 'dogpile'").Scan(&schemas); err != nil {
		t.Fatal(err)
	}
	if schemas != 0 {
		t.Fatal("Status created the schema; it must change nothing")
	}

	res, err := m.Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(res), []string{"1 notify_trigger up", "2 watch up", "3 notify up", "4 inheritance up", "5 schema_changes up", "6 grants up", "7 watch_grants up"}; !slices.Equal(got, want) {
		t.Errorf("Up: got %q, want %q", got, want)
	}
	wantStatus(t, m, allApplied...)
	wantVersion(t, m, migrations.LatestVersion())
	installedFunctions := functions(t, db, "dogpile")

	res, err = m.Up(ctx)
	if err != nil || len(res) != 0 {
		t.Fatalf("second Up = %q, %v; want nothing applied", names(res), err)
	}
	wantStatus(t, m, allApplied...)

	one, err := m.Down(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if one.Version != 7 || one.Direction != "down" {
		t.Errorf("Down rolled back %+v, want version 7", one)
	}
	if one, err = m.Down(ctx); err != nil || one.Version != 6 {
		t.Fatalf("second Down = %+v, %v; want version 6", one, err)
	}
	if one, err = m.Down(ctx); err != nil || one.Version != 5 {
		t.Fatalf("third Down = %+v, %v; want version 5", one, err)
	}
	if one, err = m.Down(ctx); err != nil || one.Version != 4 {
		t.Fatalf("fourth Down = %+v, %v; want version 4", one, err)
	}
	wantStatus(t, m, "1 notify_trigger applied", "2 watch applied", "3 notify applied", "4 inheritance pending", "5 schema_changes pending", "6 grants pending", "7 watch_grants pending")
	if slices.Contains(functions(t, db, "dogpile"), "dogpile.related(regclass)") {
		t.Error("Down left dogpile.related(regclass)")
	}
	if one, err = m.Down(ctx); err != nil || one.Version != 3 {
		t.Fatalf("fifth Down = %+v, %v; want version 3", one, err)
	}
	wantStatus(t, m, "1 notify_trigger applied", "2 watch applied", "3 notify pending", "4 inheritance pending", "5 schema_changes pending", "6 grants pending", "7 watch_grants pending")
	if slices.Contains(functions(t, db, "dogpile"), "dogpile.notify_all()") {
		t.Error("Down left dogpile.notify_all()")
	}

	res, err = m.DownAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(res), []string{"2 watch down", "1 notify_trigger down"}; !slices.Equal(got, want) {
		t.Errorf("DownAll: got %q, want %q", got, want)
	}
	wantStatus(t, m, allPending...)
	wantVersion(t, m, 0)
	if f := functions(t, db, "dogpile"); len(f) != 0 {
		t.Errorf("DownAll left functions %q", f)
	}

	if _, err := m.Down(ctx); !errors.Is(err, migrations.ErrNothingToRollBack) {
		t.Errorf("Down with nothing applied: %v, want ErrNothingToRollBack", err)
	}
	if res, err := m.DownAll(ctx); err != nil || len(res) != 0 {
		t.Errorf("DownAll with nothing applied = %q, %v", names(res), err)
	}

	if res, err := m.Up(ctx); err != nil || len(res) != 7 {
		t.Fatalf("Up after DownAll = %q, %v", names(res), err)
	}
	wantStatus(t, m, allApplied...)
	if got := functions(t, db, "dogpile"); !slices.Equal(got, installedFunctions) {
		t.Errorf("functions after reinstalling: %q, want %q", got, installedFunctions)
	}
}

// TestPackageFunctions: the package-level functions act on the default
// schema, or the one their options name.
func TestPackageFunctions(t *testing.T) {
	_, db := openDB(t)
	ctx := t.Context()
	opt := migrations.WithSchema("cache_meta")
	if res, err := migrations.Up(ctx, db, opt); err != nil || len(res) != 7 {
		t.Fatalf("Up = %q, %v", names(res), err)
	}
	st, err := migrations.Status(ctx, db, opt)
	if err != nil || len(st) != 7 || st[6].State != migrations.StateApplied {
		t.Fatalf("Status = %v, %v", st, err)
	}
	if st, _ := migrations.Status(ctx, db); st[0].State != migrations.StatePending {
		t.Errorf("the default schema is %s; only cache_meta was installed", st[0].State)
	}
	if _, err := migrations.Down(ctx, db, opt); err != nil {
		t.Fatal(err)
	}
	if res, err := migrations.DownAll(ctx, db, opt); err != nil || len(res) != 6 {
		t.Fatalf("DownAll = %q, %v", names(res), err)
	}
	if _, err := migrations.Up(ctx, db, migrations.WithSchema("Bad")); !errors.Is(err, migrations.ErrInvalidName) {
		t.Errorf("Up with a bad schema: %v", err)
	}
}

// TestConcurrentUp: processes starting together apply each migration once
// and none fails.
func TestConcurrentUp(t *testing.T) {
	dsn := testenv.PostgresDB(t)
	const n = 4
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		applied []string
	)
	for range n {
		db, err := sql.Open("pgx", dsn) // a pool each, as separate processes would have
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		wg.Go(func() {
			res, err := migrations.Up(t.Context(), db)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			applied = append(applied, names(res)...)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(applied)
	if want := []string{"1 notify_trigger up", "2 watch up", "3 notify up", "4 inheritance up", "5 schema_changes up", "6 grants up", "7 watch_grants up"}; !slices.Equal(applied, want) {
		t.Errorf("applied across %d concurrent Ups: %q, want each once: %q", n, applied, want)
	}
}

func TestInvalidNames(t *testing.T) {
	db := &sql.DB{} // New does not touch the database
	for _, tc := range []struct {
		name string
		opt  migrations.Option
		want string // in the message
	}{
		{"empty schema", migrations.WithSchema(""), "schema name is empty"},
		{"capital letters", migrations.WithSchema("Dogpile"), `schema name "Dogpile" contains 'D'`},
		{"leading digit", migrations.WithSchema("1cache"), `schema name "1cache" starts with a digit`},
		{"dash", migrations.WithSchema("dog-pile"), `contains '-'`},
		{"quote", migrations.WithSchema(`a"b`), `contains '"'`},
		{"dot", migrations.WithSchema("public.dogpile"), `contains '.'`},
		{"space", migrations.WithSchema("dog pile"), `contains ' '`},
		{"injection", migrations.WithSchema("x; DROP TABLE users"), `contains ';'`},
		{"non-ASCII", migrations.WithSchema("caché"), `contains`},
		{"dollar", migrations.WithSchema("a$b"), `contains '$'`},
		{"reserved keyword", migrations.WithSchema("select"), `"select" is a reserved SQL keyword`},
		{"schema too long", migrations.WithSchema(strings.Repeat("s", migrations.MaxSchemaLen+1)), "57 bytes long; at most 56"},
		{"empty channel", migrations.WithChannel(""), "channel name is empty"},
		{"channel with capitals", migrations.WithChannel("Invalidate"), `channel name "Invalidate"`},
		{"channel keyword", migrations.WithChannel("user"), `"user" is a reserved SQL keyword`},
		{"channel too long", migrations.WithChannel(strings.Repeat("c", 64)), "64 bytes long; at most 63"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := migrations.New(db, tc.opt)
			if !errors.Is(err, migrations.ErrInvalidName) {
				t.Fatalf("New: %v, want ErrInvalidName", err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "migrations: invalid name: ") {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
	for _, ok := range []migrations.Option{
		migrations.WithSchema("dogpile"),
		migrations.WithSchema("_cache2"),
		migrations.WithSchema(strings.Repeat("s", migrations.MaxSchemaLen)),
		migrations.WithSchema("int"), // a keyword, but not a reserved one
		migrations.WithChannel(strings.Repeat("c", 63)),
	} {
		if _, err := migrations.New(db, ok); err != nil {
			t.Errorf("New: %v", err)
		}
	}
}

// TestChannelIsFixed: Up with another channel on an installed schema fails
// and changes nothing.
func TestChannelIsFixed(t *testing.T) {
	_, db, m := installed(t)
	other, err := migrations.New(db, migrations.WithChannel("elsewhere"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = other.Up(t.Context())
	if !errors.Is(err, migrations.ErrChannelMismatch) {
		t.Fatalf("Up with another channel: %v, want ErrChannelMismatch", err)
	}
	if !strings.Contains(err.Error(), `channel "dogpile_invalidate", not "elsewhere"`) {
		t.Errorf("error %q does not name both channels", err)
	}
	var ch string
	if err := db.QueryRowContext(t.Context(), "SELECT dogpile.channel()").Scan(&ch); err != nil || ch != m.Channel() {
		t.Errorf("dogpile.channel() = %q, %v; want %q", ch, err, m.Channel())
	}
	// After DownAll the channel may change.
	if _, err := m.DownAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Up(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(t.Context(), "SELECT dogpile.channel()").Scan(&ch); err != nil || ch != "elsewhere" {
		t.Errorf("dogpile.channel() = %q, %v; want elsewhere", ch, err)
	}
}

// TestTwoSchemas: two installations in one database are independent: their
// own version tables, channels and triggers, even on the same table.
func TestTwoSchemas(t *testing.T) {
	dsn, db, a := installed(t)
	b, err := migrations.New(db, migrations.WithSchema("cache2"), migrations.WithChannel("cache2_invalidate"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Up(t.Context()); err != nil {
		t.Fatal(err)
	}
	exec(t, db, "CREATE TABLE items (id int)")
	for _, m := range []*migrations.Migrator{a, b} {
		if err := m.Watch(t.Context(), "items"); err != nil {
			t.Fatal(err)
		}
	}
	la := listen(t, dsn, db, a.Channel())
	lb := listen(t, dsn, db, b.Channel())
	testenv.Psql(t, dsn, "INSERT INTO items VALUES (1)")
	la.expect("public.items")
	lb.expect("public.items")

	if _, err := b.DownAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantVersion(t, a, 7)
	testenv.Psql(t, dsn, "INSERT INTO items VALUES (2)")
	la.expect("public.items")
	lb.expect()
}

// TestUpWithoutCreatePrivilege: an application role that may not create
// schemas can run Up once the schema is installed (a no-op), and Status.
func TestUpWithoutCreatePrivilege(t *testing.T) {
	dsn, db, _ := installed(t)
	exec(t, db, "CREATE ROLE dogpile_app_test LOGIN",
		"GRANT SELECT ON dogpile.dogpile_schema_migrations TO dogpile_app_test")
	t.Cleanup(func() {
		// Roles are per server, which other tests share.
		db.Exec("DROP OWNED BY dogpile_app_test")
		db.Exec("DROP ROLE dogpile_app_test")
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("options", "-c role=dogpile_app_test")            // the session runs as the role
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20") // pgx reads + as itself
	app, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	var role string
	if err := app.QueryRowContext(t.Context(), "SELECT current_user").Scan(&role); err != nil || role != "dogpile_app_test" {
		t.Fatalf("cannot connect as the test role (current_user %q, %v)", role, err)
	}
	if res, err := migrations.Up(t.Context(), app); err != nil || len(res) != 0 {
		t.Fatalf("Up as an unprivileged role = %q, %v", names(res), err)
	}
	if st, err := migrations.Status(t.Context(), app); err != nil || st[2].State != migrations.StateApplied {
		t.Fatalf("Status as an unprivileged role = %v, %v", st, err)
	}
}
