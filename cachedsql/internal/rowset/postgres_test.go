package rowset_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"testing"

	"github.com/dogpile-go/dogpile/cachedsql/internal/rowset"
	"github.com/dogpile-go/dogpile/internal/testenv"
	_ "github.com/jackc/pgx/v5/stdlib"
)

// openPostgres returns a fresh database on the shared PostgreSQL server,
// through pgx's database/sql driver.
func openPostgres(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", testenv.PostgresDB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// typesDDL makes a table with a column of every common PostgreSQL type,
// and rows of ordinary values, edge values, and NULLs.
const typesDDL = `
CREATE TABLE types (
	id          integer PRIMARY KEY,
	c_smallint  smallint,
	c_integer   integer,
	c_bigint    bigint,
	c_numeric   numeric(12,4),
	c_decimal   numeric,
	c_real      real,
	c_double    double precision,
	c_text      text,
	c_varchar   varchar(20),
	c_char      char(5),
	c_bytea     bytea,
	c_bool      boolean,
	c_tstz      timestamptz,
	c_ts        timestamp,
	c_date      date,
	c_time      time,
	c_interval  interval,
	c_uuid      uuid,
	c_json      json,
	c_jsonb     jsonb,
	c_inet      inet,
	c_ints      integer[],
	c_texts     text[]
);
INSERT INTO types VALUES
(1, 32767, 2147483647, 9223372036854775807, 12345678.1234, 123456789012345678901234567890.123456789,
 1.5, 2.718281828459045, 'héllo, wörld', 'varchar', 'ab', '\x000102ff', true,
 '2024-03-10 01:59:59.123456+00', '2024-03-10 12:34:56.789', '2024-02-29', '23:59:59.999999',
 '1 year 2 mons 3 days 04:05:06.789', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
 '{"a": [1, 2.5, "x"]}', '{"b": null, "a": 1}', '192.168.0.1/24', '{1,NULL,3}', '{"a b",NULL,"c,d"}'),
(2, -32768, -2147483648, -9223372036854775808, -0.0001, 'NaN',
 'NaN', '-Infinity', '', '', '', '\x', false,
 '0001-01-01 00:00:00+00', '9999-12-31 23:59:59.999999', '0001-01-01', '00:00:00',
 '-1 days -00:00:01', '00000000-0000-0000-0000-000000000000',
 '""', '[]', '::1', '{}', '{}'),
(3, 0, 0, 0, 0, 0, '-0', 'Infinity', ' ', 'x', 'abcde', '\x00', true,
 '1970-01-01 00:00:00+00', '1999-12-31 23:59:59', '4713-01-01 BC', '12:00:00', '0', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
 'null', '{"nested": {"deep": [true, false, null]}}', '10.0.0.0/8', '{{1,2},{3,4}}', '{""}'),
(4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
`

func TestPostgresTypeMatrix(t *testing.T) {
	db := openPostgres(t)
	if _, err := db.Exec(typesDDL); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		query string
		args  []any
	}{
		{"every type", "SELECT * FROM types ORDER BY id", nil},
		{"infinite times", "SELECT 'infinity'::timestamptz AS a, '-infinity'::timestamp AS b, 'infinity'::date AS c", nil},
		{"expressions", "SELECT 1 AS one, 1::int2 + 1 AS two, 'x' || NULL AS nothing, now() - now() AS zero, $1::text AS arg, 3.0 / 2 AS ratio", []any{"arg"}},
		{"duplicate and unnamed columns", `SELECT 1 AS a, 2 AS a, 3`, nil},
		{"empty", "SELECT * FROM types WHERE false", nil},
		{"no columns", "SELECT FROM generate_series(1, 3)", nil},
		{"session time zone", "SELECT c_tstz, c_tstz::text AS as_text FROM types ORDER BY id", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			compareReplay(t, db, tt.query, tt.args...)
		})
	}
}

// typesRow is a row of the types table as an sqlx user would scan it.
type typesRow struct {
	ID       int64            `db:"id"`
	Smallint sql.NullInt16    `db:"c_smallint"`
	Integer  sql.NullInt32    `db:"c_integer"`
	Bigint   sql.NullInt64    `db:"c_bigint"`
	Numeric  sql.NullString   `db:"c_numeric"`
	Decimal  *string          `db:"c_decimal"`
	Real     sql.NullFloat64  `db:"c_real"`
	Double   *float64         `db:"c_double"`
	Text     sql.NullString   `db:"c_text"`
	Varchar  *string          `db:"c_varchar"`
	Char     sql.NullString   `db:"c_char"`
	Bytea    []byte           `db:"c_bytea"`
	Bool     sql.NullBool     `db:"c_bool"`
	Tstz     sql.NullTime     `db:"c_tstz"`
	Ts       *sql.NullTime    `db:"c_ts"`
	Date     sql.NullTime     `db:"c_date"`
	Time     sql.NullString   `db:"c_time"`
	Interval sql.NullString   `db:"c_interval"`
	UUID     sql.NullString   `db:"c_uuid"`
	JSON     *json.RawMessage `db:"c_json"`
	JSONB    []byte           `db:"c_jsonb"`
	Inet     sql.NullString   `db:"c_inet"`
	Ints     sql.NullString   `db:"c_ints"`
	Texts    sql.Null[string] `db:"c_texts"`
}

func TestPostgresSqlx(t *testing.T) {
	db := openPostgres(t)
	if _, err := db.Exec(typesDDL); err != nil {
		t.Fatal(err)
	}
	xdb := sqlxDB(db, "pgx")
	ctx := context.Background()
	const query = "SELECT * FROM types ORDER BY id"
	var want []typesRow
	if err := xdb.SelectContext(ctx, &want, query); err != nil {
		t.Fatal(err)
	}
	var wantOne typesRow
	if err := xdb.GetContext(ctx, &wantOne, query); err != nil {
		t.Fatal(err)
	}
	set := materialize(t, db, query)
	empty := materialize(t, db, "SELECT * FROM types WHERE false")
	for _, p := range paths(t, set) {
		t.Run(p.name, func(t *testing.T) {
			var got []typesRow
			if err := rowset.Select(ctx, p.set, &got, xdb.Mapper, false); err != nil {
				t.Fatal(err)
			}
			if !sameValue(want, got) {
				t.Errorf("Select:\n got %+v\nwant %+v", got, want)
			}
			var one typesRow
			if err := rowset.Get(ctx, p.set, &one, xdb.Mapper, false); err != nil {
				t.Fatal(err)
			}
			if !sameValue(wantOne, one) {
				t.Errorf("Get:\n got %+v\nwant %+v", one, wantOne)
			}
			var fromRow typesRow
			if err := rowset.QueryRowx(ctx, p.set, xdb.Mapper, false).StructScan(&fromRow); err != nil {
				t.Fatal(err)
			}
			if !sameValue(wantOne, fromRow) {
				t.Errorf("QueryRowx.StructScan:\n got %+v\nwant %+v", fromRow, wantOne)
			}
			rows, err := rowset.Queryx(ctx, p.set, xdb.Mapper, false)
			if err != nil {
				t.Fatal(err)
			}
			var maps []map[string]any
			for rows.Next() {
				m := map[string]any{}
				if err := rows.MapScan(m); err != nil {
					t.Fatal(err)
				}
				maps = append(maps, m)
			}
			rows.Close()
			if len(maps) != len(want) || !sameValue(maps[0]["c_bytea"], []byte{0, 1, 2, 0xff}) {
				t.Errorf("Queryx.MapScan = %v", maps)
			}
		})
	}
	for _, p := range paths(t, empty) {
		t.Run("empty/"+p.name, func(t *testing.T) {
			var direct, replayed typesRow
			wantErr := xdb.GetContext(ctx, &direct, "SELECT * FROM types WHERE false")
			if !errors.Is(wantErr, sql.ErrNoRows) {
				t.Fatalf("direct Get = %v", wantErr)
			}
			if err := rowset.Get(ctx, p.set, &replayed, xdb.Mapper, false); err != wantErr {
				t.Errorf("Get = %v, want %v", err, wantErr)
			}
			var n int
			if err := rowset.QueryRow(ctx, p.set).Scan(&n); err != sql.ErrNoRows {
				t.Errorf("QueryRow.Scan = %v, want sql.ErrNoRows", err)
			}
			if err := rowset.QueryRowx(ctx, p.set, nil, false).StructScan(&replayed); err != sql.ErrNoRows {
				t.Errorf("QueryRowx.StructScan = %v, want sql.ErrNoRows", err)
			}
			var all []typesRow
			if err := rowset.Select(ctx, p.set, &all, nil, false); err != nil || all != nil {
				t.Errorf("Select = %v, %v; want nil, nil", all, err)
			}
		})
	}
}
