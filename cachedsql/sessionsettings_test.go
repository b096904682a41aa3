package cachedsql_test

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/cachedsql"
)

// withParam adds a connection parameter to a DSN, URL or keyword/value.
func withParam(dsn, kv string) string {
	switch {
	case !strings.Contains(dsn, "://"):
		return dsn + " " + kv
	case strings.Contains(dsn, "?"):
		return dsn + "&" + kv
	default:
		return dsn + "?" + kv
	}
}

// DBs on one cache whose sessions have other TimeZones or DateStyles get
// each the results their own sessions give (a cast shows no function the
// analyzer would refuse), while writes through any of them invalidate the
// reads of all.
func TestSessionSettingsAreInTheKey(t *testing.T) {
	ctx := context.Background()
	store := memStore(t, memory.Options{})
	utc, dsn := newDB(t, cachedsql.WithBackend(store))
	open := func(param string) *cachedsql.DB {
		t.Helper()
		return connect(t, withParam(dsn, param), cachedsql.WithBackend(store))
	}
	dbs := map[string]*cachedsql.DB{
		"default":   utc,
		"Tokyo":     open("timezone=Asia/Tokyo"),
		"German":    open("datestyle=German"),
		"Tokyo too": open("timezone=Asia/Tokyo"),
	}
	// A cast, and date_trunc, which is cacheable with the TimeZone in
	// the key: 20:00 UTC is the next day in Tokyo.
	for _, q := range []string{
		"SELECT ('2024-01-01 00:00:00+00'::timestamptz)::text",
		"SELECT date_trunc('day', '2024-01-01 20:00:00+00'::timestamptz)::text",
	} {
		for _, round := range []string{"first", "second"} {
			for name, db := range dbs {
				var got, direct string
				if err := db.GetContext(ctx, &got, q); err != nil {
					t.Fatal(err)
				}
				if err := db.Inner().QueryRowContext(ctx, q).Scan(&direct); err != nil {
					t.Fatal(err)
				}
				if got != direct {
					t.Fatalf("%s read of %s on the %s DB = %q; its own session says %q", round, q, name, got, direct)
				}
			}
		}
	}
	// Both reads are cached, and the two Tokyo DBs share their results:
	// one query each for both.
	if c := created(dbs["Tokyo"]) + created(dbs["Tokyo too"]); c != 2 {
		t.Fatalf("%d queries made by two DBs with the same settings for two reads made twice; want 2", c)
	}

	const qName = "SELECT name FROM items WHERE id = 1"
	for _, db := range dbs {
		readName(t, ctx, db, 1)
	}
	dbs["German"].MustExec("UPDATE items SET name = 'apricot' WHERE id = 1")
	for name, db := range dbs {
		if got := readName(t, ctx, db, 1); got != "apricot" {
			t.Fatalf("%s of the %s DB after a write through another = %q; want apricot", qName, name, got)
		}
	}
}

// connect opens a DB on dsn, closed when t ends.
func connect(t *testing.T, dsn string, opts ...cachedsql.Option) *cachedsql.DB {
	t.Helper()
	db, err := cachedsql.Connect("pgx", dsn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// asRole returns dsn with its user replaced by role.
func asRole(t *testing.T, dsn, role string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	return u.String()
}

// newRole creates a login role for t, unique in the cluster, dropped with
// what it was granted when t ends.
func newRole(t *testing.T, admin *cachedsql.DB) string {
	t.Helper()
	var db string
	if err := admin.Inner().QueryRow("SELECT current_database()").Scan(&db); err != nil {
		t.Fatal(err)
	}
	role := "r_" + db
	admin.MustExec("CREATE ROLE " + role + " LOGIN")
	t.Cleanup(func() {
		admin.Inner().Exec("DROP OWNED BY " + role)
		admin.Inner().Exec("DROP ROLE " + role)
	})
	return role
}

// A role must not read through the cache what the database would not show
// it: rows cached by a role that may read a table are not served to one
// that may not, and row-level security policies, which filter rows by the
// role, give each role its own rows.
func TestRoleIsInTheKey(t *testing.T) {
	ctx := context.Background()
	store := memStore(t, memory.Options{})
	admin, dsn := newDB(t, cachedsql.WithBackend(store))
	role := newRole(t, admin)
	admin.MustExec(`CREATE TABLE notes (id int, owner text, body text)`)
	admin.MustExec(`INSERT INTO notes VALUES (1, $1, 'mine'), (2, 'someone else', 'theirs')`, role)
	admin.MustExec(`ALTER TABLE notes ENABLE ROW LEVEL SECURITY`)
	admin.MustExec(`CREATE POLICY own ON notes USING (owner = current_user)`)
	admin.MustExec(`GRANT SELECT ON notes TO ` + role)
	limited := connect(t, asRole(t, dsn, role), cachedsql.WithBackend(store))

	// The superuser caches items; the role, which has no grant on it,
	// gets the database's refusal.
	readName(t, ctx, admin, 1)
	var name string
	err := limited.GetContext(ctx, &name, "SELECT name FROM items WHERE id = $1", 1)
	if err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("a role with no grant on items read %q from the cache (err %v); want permission denied", name, err)
	}

	// Row-level security: the superuser sees both notes, the role its own.
	const q = "SELECT count(*) FROM notes"
	for _, round := range []string{"first", "second"} {
		for _, c := range []struct {
			who  string
			db   *cachedsql.DB
			want int
		}{{"superuser", admin, 2}, {role, limited, 1}} {
			var n int
			if err := c.db.GetContext(ctx, &n, q); err != nil {
				t.Fatal(err)
			}
			if n != c.want {
				t.Fatalf("%s read by %s: %s = %d; want %d", round, c.who, q, n, c.want)
			}
		}
	}
	if c := created(limited); c != 1 {
		t.Fatalf("the role made %d queries for one read made twice; want 1 (cached)", c)
	}
	// Tags are shared: a write by the superuser reaches the role's reads.
	admin.MustExec(`INSERT INTO notes VALUES (3, $1, 'also mine')`, role)
	var n int
	if err := limited.GetContext(ctx, &n, q); err != nil || n != 2 {
		t.Fatalf("the role's %s after a write by the superuser = %d, %v; want 2", q, n, err)
	}
}

// WithSessionSettings puts settings the application defines (read by
// row-level security policies, say) in the key: DBs of two tenants, whose
// connections set app.tenant, share a cache but not their rows.
func TestWithSessionSettings(t *testing.T) {
	ctx := context.Background()
	store := memStore(t, memory.Options{})
	admin, dsn := newDB(t, cachedsql.WithBackend(store))
	role := newRole(t, admin)
	admin.MustExec(`CREATE TABLE orders (id int, tenant text)`)
	admin.MustExec(`INSERT INTO orders VALUES (1, 'a'), (2, 'b'), (3, 'b')`)
	admin.MustExec(`ALTER TABLE orders ENABLE ROW LEVEL SECURITY`)
	admin.MustExec(`CREATE POLICY tenant ON orders USING (tenant = current_setting('app.tenant', true))`)
	admin.MustExec(`GRANT SELECT ON orders TO ` + role)
	tenant := func(name string, opts ...cachedsql.Option) *cachedsql.DB {
		t.Helper()
		return connect(t, withParam(asRole(t, dsn, role), "options=-c%20app.tenant%3D"+name),
			append([]cachedsql.Option{cachedsql.WithBackend(store)}, opts...)...)
	}
	const q = "SELECT count(*) FROM orders"
	count := func(db *cachedsql.DB) int {
		t.Helper()
		var n int
		if err := db.GetContext(ctx, &n, q); err != nil {
			t.Fatal(err)
		}
		return n
	}
	a := tenant("a", cachedsql.WithSessionSettings("app.tenant"))
	b := tenant("b", cachedsql.WithSessionSettings("app.tenant"))
	for range 2 {
		if na, nb := count(a), count(b); na != 1 || nb != 2 {
			t.Fatalf("tenant a counts %d orders, tenant b %d; want 1 and 2", na, nb)
		}
	}

	if db, err := cachedsql.Open("sqlite", filepath.Join(t.TempDir(), "app.db"), cachedsql.WithSessionSettings("app.tenant")); err == nil {
		db.Close()
		t.Error("WithSessionSettings on SQLite: Open succeeded; want ErrBadOption")
	} else if !errors.Is(err, cachedsql.ErrBadOption) || !strings.Contains(err.Error(), "PostgreSQL only") {
		t.Errorf("WithSessionSettings on SQLite: %v; want ErrBadOption saying PostgreSQL only", err)
	}
	for _, name := range []string{"", "app tenant", "app.tenant'", "1app.x", "app..x"} {
		db, err := cachedsql.Open("pgx", dsn, cachedsql.WithSessionSettings(name))
		if err == nil {
			db.Close()
			t.Errorf("WithSessionSettings(%q): Open succeeded; want ErrBadOption", name)
		} else if !errors.Is(err, cachedsql.ErrBadOption) || !strings.Contains(err.Error(), "WithSessionSettings") {
			t.Errorf("WithSessionSettings(%q): %v; want ErrBadOption naming the option", name, err)
		}
	}
}

// The settings a key holds are read back as one string: a value that holds
// a newline and another setting's name must not give the key of sessions
// whose settings differ. Here the role's default app.a carries
// "\napp.b=b" while its app.b is unset, and another DB of the same role sets
// app.a=x and app.b=b: the policy shows the first none of the orders and the
// second one, but both read their settings as the same string.
func TestSessionSettingsKeyIsUnambiguous(t *testing.T) {
	ctx := context.Background()
	store := memStore(t, memory.Options{})
	admin, dsn := newDB(t, cachedsql.WithBackend(store))
	role := newRole(t, admin)
	admin.MustExec(`CREATE TABLE orders (id int, tenant text)`)
	admin.MustExec(`INSERT INTO orders VALUES (1, 'b')`)
	admin.MustExec(`ALTER TABLE orders ENABLE ROW LEVEL SECURITY`)
	admin.MustExec(`CREATE POLICY tenant ON orders USING (tenant = current_setting('app.b', true))`)
	admin.MustExec(`GRANT SELECT ON orders TO ` + role)
	admin.MustExec(`ALTER ROLE ` + role + ` SET app.a = E'x\napp.b=b'`)
	open := func(dsn string) *cachedsql.DB {
		t.Helper()
		return connect(t, dsn, cachedsql.WithBackend(store), cachedsql.WithSessionSettings("app.a", "app.b"))
	}
	tenantB := open(withParam(asRole(t, dsn, role), "options=-c%20app.a%3Dx%20-c%20app.b%3Db"))
	noTenant := open(asRole(t, dsn, role))
	const q = "SELECT count(*) FROM orders"
	for _, c := range []struct {
		who  string
		db   *cachedsql.DB
		want int
	}{{"app.b=b", tenantB, 1}, {"app.b unset", noTenant, 0}} {
		var n int
		if err := c.db.GetContext(ctx, &n, q); err != nil {
			t.Fatal(err)
		}
		if n != c.want {
			t.Errorf("%s: %s = %d; want %d (another session's cached result)", c.who, q, n, c.want)
		}
	}
}

// A setting named with WithSessionSettings that the role may not read
// (a superuser-only one, such as config_file) fails the read of the
// settings on every cacheable read: the DB then never caches, and makes an
// extra query per read. That must reach WithErrorHandler, naming the
// problem, rather than pass in silence.
func TestUnreadableSessionSettingIsReported(t *testing.T) {
	ctx := context.Background()
	admin, dsn := newDB(t)
	role := newRole(t, admin)
	admin.MustExec(`GRANT SELECT ON items TO ` + role)
	var mu sync.Mutex
	var reported []error
	db := connect(t, asRole(t, dsn, role),
		cachedsql.WithSessionSettings("config_file"),
		cachedsql.WithErrorHandler(func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }))
	for range 2 {
		readName(t, ctx, db, 1)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, err := range reported {
		if strings.Contains(err.Error(), "config_file") {
			return
		}
	}
	t.Fatalf("reads were not cached (%d creations) and the handler got %v; want an error naming config_file", created(db), reported)
}

// Privileges taken back through a DB reach every role's cached reads (a
// REVOKE is an unknown write); SET ROLE on a held connection keeps that
// session off the cache.
func TestRevokeAndSetRoleThroughTheDB(t *testing.T) {
	ctx := context.Background()
	store := memStore(t, memory.Options{})
	admin, dsn := newDB(t, cachedsql.WithBackend(store))
	role := newRole(t, admin)
	admin.MustExec(`GRANT SELECT ON items TO ` + role)
	limited := connect(t, asRole(t, dsn, role), cachedsql.WithBackend(store))
	readName(t, ctx, limited, 1)
	admin.MustExec(`REVOKE SELECT ON items FROM ` + role)
	var name string
	if err := limited.GetContext(ctx, &name, "SELECT name FROM items WHERE id = $1", 1); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("after REVOKE the role read %q (err %v); want permission denied", name, err)
	}

	// The superuser caches a read; a session of it that sets the role
	// must not be served it.
	readName(t, ctx, admin, 2)
	conn, err := admin.Connx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET ROLE "+role); err != nil {
		t.Fatal(err)
	}
	err = conn.GetContext(ctx, &name, "SELECT name FROM items WHERE id = $1", 2)
	if err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("after SET ROLE the session read %q (err %v); want permission denied", name, err)
	}
}
