package rowset_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/dogpile-go/dogpile/cachedsql/internal/rowset"
	_ "modernc.org/sqlite"
)

// openSQLite returns an in-memory SQLite database through
// modernc.org/sqlite, a driver with its own ideas of column types and
// values, to show that replays follow whatever driver made the rows.
func openSQLite(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+t.Name()+"?mode=memory&cache=shared")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1) // one in-memory database, kept open
	t.Cleanup(func() { db.Close() })
	return db
}

const sqliteDDL = `
CREATE TABLE things (
	id        INTEGER PRIMARY KEY,
	n         INTEGER,
	r         REAL,
	t         TEXT,
	vc        VARCHAR(10),
	b         BLOB,
	flag      BOOLEAN,
	at        DATETIME,
	day       DATE,
	num       NUMERIC,
	anything
);
INSERT INTO things VALUES
	(1, 42, 1.5, 'text', 'short', x'00ff10', 1, '2024-03-10 12:34:56.789', '2024-02-29', 12.5, 'typeless'),
	(2, -9223372036854775808, -0.0, '', '', x'', 0, '2000-01-01T00:00:00Z', '1999-12-31', 7, x'01'),
	(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
	(4, 9223372036854775807, 1e308, 'ünïcödé', 'v', x'ffff', 1, '2024-03-10 12:34:56+02:00', '2024-01-01', 'not a number', 3.25);
`

func TestSQLite(t *testing.T) {
	db := openSQLite(t)
	if _, err := db.Exec(sqliteDDL); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		query string
		args  []any
	}{
		{"table", "SELECT * FROM things ORDER BY id", nil},
		{"expressions", "SELECT 1, 'a' || 'b', x'0102', NULL, 2.5 * 2, ? AS arg, typeof(anything) FROM things ORDER BY id", []any{int64(7)}},
		{"empty", "SELECT * FROM things WHERE id < 0", nil},
		{"aggregates", "SELECT count(*), max(at), group_concat(t, ',') FROM things", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			compareReplay(t, db, tt.query, tt.args...)
		})
	}
}

func TestSQLiteSqlx(t *testing.T) {
	db := openSQLite(t)
	if _, err := db.Exec(sqliteDDL); err != nil {
		t.Fatal(err)
	}
	type thing struct {
		ID   int64           `db:"id"`
		N    sql.NullInt64   `db:"n"`
		R    sql.NullFloat64 `db:"r"`
		T    *string         `db:"t"`
		B    []byte          `db:"b"`
		Flag sql.NullBool    `db:"flag"`
		At   sql.NullTime    `db:"at"`
	}
	const query = "SELECT id, n, r, t, b, flag, at FROM things ORDER BY id"
	xdb := sqlxDB(db, "sqlite")
	var want []thing
	if err := xdb.Select(&want, query); err != nil {
		t.Fatal(err)
	}
	set := materialize(t, db, query)
	for _, p := range paths(t, set) {
		t.Run(p.name, func(t *testing.T) {
			var got []thing
			if err := rowset.Select(context.Background(), p.set, &got, xdb.Mapper, false); err != nil {
				t.Fatal(err)
			}
			if !sameValue(want, got) {
				t.Errorf("Select:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}
