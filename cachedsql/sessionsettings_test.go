package cachedsql_test

import (
	"context"
	"strings"
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
		db, err := cachedsql.Connect("pgx", withParam(dsn, param), cachedsql.WithBackend(store))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
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
