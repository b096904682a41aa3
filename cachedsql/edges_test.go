package cachedsql_test

// Edge cases of keys, cascades and TTLs found by a review of the changes
// that brought session settings into keys and WithCascades.

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/cachedsql"
	"github.com/dogpile-go/dogpile/clock"
)

// Session settings other than the seven the key holds shape results of
// cacheable reads too: transform_null_equals turns "x = NULL" into
// "x IS NULL", and default_text_search_config picks the configuration of a
// one-argument to_tsvector, a function the analyzer deems safe. DBs whose
// sessions differ in them must not share results.
func TestSessionSettingsMissingFromKey(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ param, query string }{
		{"transform_null_equals=on", "SELECT count(*)::text FROM items WHERE tags = NULL"},
		{"default_text_search_config=pg_catalog.english", "SELECT to_tsvector('The running dogs')::text"},
		{"default_text_search_config=pg_catalog.simple", "SELECT to_tsvector('The running dogs')::text"},
	} {
		t.Run(tc.param, func(t *testing.T) {
			store := memStore(t, memory.Options{})
			plain, dsn := newDB(t, cachedsql.WithBackend(store))
			other, err := cachedsql.Connect("pgx", withParam(dsn, tc.param), cachedsql.WithBackend(store))
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			var a, b, direct string
			if err := plain.GetContext(ctx, &a, tc.query); err != nil {
				t.Fatal(err)
			}
			if err := other.GetContext(ctx, &b, tc.query); err != nil {
				t.Fatal(err)
			}
			if err := other.Inner().QueryRowContext(ctx, tc.query).Scan(&direct); err != nil {
				t.Fatal(err)
			}
			if a == direct {
				t.Skipf("the server's default already has %s", tc.param)
			}
			if b != direct {
				t.Fatalf("%q on a DB with %s = %q (the other DB's cached result); its own session says %q", tc.query, tc.param, b, direct)
			}
		})
	}
}

// The default search_path, "$user", public, is the same text for every
// role, but an unqualified name means the role's own schema where one
// exists: two DBs connected as two roles must not share results.
func TestSearchPathUserSchemaInKey(t *testing.T) {
	ctx := context.Background()
	store := memStore(t, memory.Options{})
	setup, dsn := newDB(t, cachedsql.WithBackend(store))
	suffix := fmt.Sprintf("%d", rand.Uint32())
	roles := []string{"alice_" + suffix, "bob_" + suffix}
	for _, r := range roles {
		setup.MustExec(fmt.Sprintf(`CREATE ROLE %s LOGIN`, r))
		t.Cleanup(func() {
			setup.Inner().Exec(fmt.Sprintf(`DROP OWNED BY %s`, r))
			setup.Inner().Exec(fmt.Sprintf(`DROP ROLE %s`, r))
		})
		setup.MustExec(fmt.Sprintf(`CREATE SCHEMA %s AUTHORIZATION %s`, r, r))
		setup.MustExec(fmt.Sprintf(`CREATE TABLE %s.secrets (v text)`, r))
		setup.MustExec(fmt.Sprintf(`INSERT INTO %s.secrets VALUES ('%s')`, r, r))
		setup.MustExec(fmt.Sprintf(`ALTER TABLE %s.secrets OWNER TO %s`, r, r))
	}
	as := func(role string) *cachedsql.DB {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.User(role)
		db, err := cachedsql.Connect("pgx", u.String(), cachedsql.WithBackend(store))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	for _, r := range roles {
		db := as(r)
		var v string
		if err := db.GetContext(ctx, &v, "SELECT v FROM secrets"); err != nil {
			t.Fatal(err)
		}
		if v != r {
			t.Fatalf("SELECT v FROM secrets as %s = %q: another role's schema's row, from the cache", r, v)
		}
	}
}

// With a pool of one held by a transaction, CacheKey (a computation) and a
// read the cache already holds (another process filled it) need no
// connection; the first of them now reads the session settings on the
// pool and waits for the transaction forever.
func TestSessionSettingsPoolOfOneHeldTx(t *testing.T) {
	store := memStore(t, memory.Options{})
	filler, dsn := newDB(t, cachedsql.WithBackend(store))
	const q = "SELECT name FROM items WHERE id = 1"
	var name string
	if err := filler.Get(&name, q); err != nil {
		t.Fatal(err)
	}
	for _, use := range []string{"CacheKey", "cache hit"} {
		t.Run(use, func(t *testing.T) {
			db, err := cachedsql.Open("pgx", dsn, cachedsql.WithBackend(store))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1)
			tx := db.MustBegin()
			defer tx.Rollback()
			done := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				switch use {
				case "CacheKey":
					_, err := db.CacheKeyContext(ctx, q)
					done <- err
				default:
					var got string
					done <- db.GetContext(ctx, &got, q)
				}
			}()
			if err := <-done; err != nil {
				t.Fatalf("%s while a transaction holds the pool's one connection: %v", use, err)
			}
		})
	}
}

// Cascades between partitioned tables, a level of partitions deep, and
// into another schema: every read of the referencing tree sees a delete
// anywhere in the referenced tree.
func TestCascadesPartitionedBothSides(t *testing.T) {
	ctx := context.Background()
	setup, dsn := newDB(t)
	for _, stmt := range []string{
		`CREATE SCHEMA crm`,
		`CREATE TABLE crm.customers (id int PRIMARY KEY) PARTITION BY RANGE (id)`,
		`CREATE TABLE crm.customers_a PARTITION OF crm.customers FOR VALUES FROM (0) TO (100) PARTITION BY RANGE (id)`,
		`CREATE TABLE crm.customers_a1 PARTITION OF crm.customers_a FOR VALUES FROM (0) TO (50)`,
		`CREATE TABLE crm.customers_b PARTITION OF crm.customers FOR VALUES FROM (100) TO (200)`,
		`CREATE TABLE orders (id int, customer_id int REFERENCES crm.customers ON DELETE CASCADE) PARTITION BY RANGE (id)`,
		`CREATE TABLE orders_a PARTITION OF orders FOR VALUES FROM (0) TO (100)`,
		`CREATE TABLE orders_b PARTITION OF orders FOR VALUES FROM (100) TO (200) PARTITION BY RANGE (id)`,
		`CREATE TABLE orders_b1 PARTITION OF orders_b FOR VALUES FROM (100) TO (200)`,
		`CREATE TABLE lines (id int, order_id int, customer_id int REFERENCES crm.customers_b ON DELETE SET NULL)`,
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
	t.Logf("views %q\ncascades %q", views, cascades)
	db, err := cachedsql.Connect("pgx", dsn, cachedsql.WithViews(views), cachedsql.WithCascades(cascades))
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
	for _, del := range []string{"crm.customers_a1", "crm.customers_a", "crm.customers", "crm.customers_b"} {
		for _, read := range []string{"orders", "orders_a", "orders_b", "orders_b1", "lines"} {
			setup.MustExec("TRUNCATE orders, lines")
			setup.MustExec("DELETE FROM crm.customers")
			setup.MustExec("INSERT INTO crm.customers VALUES (1), (150)")
			setup.MustExec("INSERT INTO orders VALUES (1, 1), (150, 1), (2, 150), (151, 150)")
			setup.MustExec("INSERT INTO lines VALUES (1, 1, 150)")
			q := "SELECT count(*) FROM " + read
			if read == "lines" {
				q = "SELECT count(customer_id) FROM lines"
			}
			before := count(q)
			count(q)
			db.MustExec("DELETE FROM " + del)
			var direct int
			if err := db.Inner().QueryRowContext(ctx, q).Scan(&direct); err != nil {
				t.Fatal(err)
			}
			if got := count(q); got != direct {
				t.Errorf("%s after DELETE FROM %s = %d (was %d); the database says %d", q, del, got, before, direct)
			}
		}
	}
}

// A call TTL of "forever" (the largest Duration) keeps its result past
// the DB's store TTL, as a call TTL of an hour does: 2 × d overflows to a
// negative store TTL, which the region reads as "the region's own".
func TestHugeCallTTLOutlivesStoreTTL(t *testing.T) {
	ctx := context.Background()
	for _, d := range []time.Duration{time.Hour, 200 * 365 * 24 * time.Hour, time.Duration(math.MaxInt64)} {
		t.Run(d.String(), func(t *testing.T) {
			clk := clock.NewManual(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
			store := memStore(t, memory.Options{EnableTTL: true, Clock: clk})
			db, dsn := newDB(t, cachedsql.WithBackend(store), cachedsql.WithTTL(time.Second), cachedsql.WithTTLJitter(0))
			long := cachedsql.ContextWithTTL(ctx, d)
			readName(t, long, db, 1)
			behindTheBack(t, dsn, "UPDATE items SET name = 'pear' WHERE id = 1")
			clk.Advance(time.Minute) // past the DB's store TTL (2s)
			if got := readName(t, long, db, 1); got != "apple" {
				t.Fatalf("a minute into a call TTL of %v: %q, want the cached apple", d, got)
			}
		})
	}
}
