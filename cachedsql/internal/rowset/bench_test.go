package rowset_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/cachedsql/internal/rowset"
	"github.com/jmoiron/sqlx"
)

// benchItem is the shape of the benchmarks' rows: eight columns of the
// types a typical read returns.
type benchItem struct {
	ID      int64          `db:"id"`
	Name    string         `db:"name"`
	Price   string         `db:"price"` // numeric, as a string
	Score   float64        `db:"score"`
	Active  bool           `db:"active"`
	Created time.Time      `db:"created"`
	Payload []byte         `db:"payload"`
	Note    sql.NullString `db:"note"`
}

const benchDDL = `
CREATE TABLE bench_items (
	id      bigint PRIMARY KEY,
	name    text NOT NULL,
	price   numeric(10,2) NOT NULL,
	score   double precision NOT NULL,
	active  boolean NOT NULL,
	created timestamptz NOT NULL,
	payload bytea NOT NULL,
	note    text
);
INSERT INTO bench_items
SELECT n, 'item number ' || n, n * 1.25, n / 7.0, n % 2 = 0,
       '2024-01-01'::timestamptz + n * interval '1 hour',
       decode(md5(n::text), 'hex'),
       CASE WHEN n % 3 = 0 THEN NULL ELSE 'note ' || n END
FROM generate_series(1, 100) AS n;
`

const benchQuery = `SELECT id, name, price, score, active, created, payload, note
FROM bench_items ORDER BY id LIMIT $1`

// benchDB returns a PostgreSQL database with bench_items, through pgx's
// database/sql driver and sqlx.
func benchDB(b *testing.B) *sqlx.DB {
	db := openPostgres(b)
	if _, err := db.Exec(benchDDL); err != nil {
		b.Fatal(err)
	}
	return sqlx.NewDb(db, "pgx")
}

var benchSizes = []int{1, 100}

// BenchmarkReplay is the cache hit from memory: Select of a Set into a
// slice of structs through sqlx.
func BenchmarkReplay(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	for _, n := range benchSizes {
		set := materialize(b, db.DB, benchQuery, n)
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var items []benchItem
				if err := rowset.Select(ctx, set, &items, db.Mapper, false); err != nil {
					b.Fatal(err)
				}
				if len(items) != n {
					b.Fatalf("%d rows", len(items))
				}
			}
		})
	}
}

// BenchmarkReplayCancellable is BenchmarkReplay with a cancellable
// context, as request handlers have.
func BenchmarkReplayCancellable(b *testing.B) {
	db := benchDB(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, n := range benchSizes {
		set := materialize(b, db.DB, benchQuery, n)
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var items []benchItem
				if err := rowset.Select(ctx, set, &items, db.Mapper, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReplayDecoded is the cache hit from a bytes store (after the
// store's round trip): Decode, then Select.
func BenchmarkReplayDecoded(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	for _, n := range benchSizes {
		data, err := materialize(b, db.DB, benchQuery, n).MarshalBinary()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				set, err := rowset.Decode(data)
				if err != nil {
					b.Fatal(err)
				}
				var items []benchItem
				if err := rowset.Select(ctx, set, &items, db.Mapper, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPostgres is the same Select on loopback PostgreSQL, through
// sqlx on pgx's database/sql driver: what a hit saves.
func BenchmarkPostgres(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var items []benchItem
				if err := db.SelectContext(ctx, &items, benchQuery, n); err != nil {
					b.Fatal(err)
				}
				if len(items) != n {
					b.Fatalf("%d rows", len(items))
				}
			}
		})
	}
}

// BenchmarkMaterialize is what a miss adds to the query: reading the rows
// into a Set (the query included), then replaying it to the caller.
func BenchmarkMaterialize(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rows, err := db.QueryContext(ctx, benchQuery, n)
				if err != nil {
					b.Fatal(err)
				}
				set, _, err := rowset.Materialize(rows, rowset.Limits{})
				if err != nil {
					b.Fatal(err)
				}
				var items []benchItem
				if err := rowset.Select(ctx, set, &items, db.Mapper, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMarshal(b *testing.B) {
	db := benchDB(b)
	for _, n := range benchSizes {
		set := materialize(b, db.DB, benchQuery, n)
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			for b.Loop() {
				var err error
				if buf, err = set.AppendBinary(buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	db := benchDB(b)
	for _, n := range benchSizes {
		data, err := materialize(b, db.DB, benchQuery, n).MarshalBinary()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := rowset.Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkKey(b *testing.B) {
	args := []any{42, "active", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), []int64{1, 2, 3}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rowset.Key("items", "", benchQuery, args); err != nil {
			b.Fatal(err)
		}
	}
}
