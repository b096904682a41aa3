package bench

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	rediscache "github.com/go-redis/cache/v9"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"

	"github.com/dogpile-go/dogpile/cachedsql"
	"github.com/dogpile-go/dogpile/internal/testenv"
)

// product is a typical row: eight columns of the common kinds.
type product struct {
	ID        int64          `db:"id"`
	Name      string         `db:"name"`
	Price     string         `db:"price"` // numeric, as pgx hands it to database/sql
	Weight    float64        `db:"weight"`
	InStock   bool           `db:"in_stock"`
	UpdatedAt time.Time      `db:"updated_at"`
	Image     []byte         `db:"image"`
	Note      sql.NullString `db:"note"`
}

const productsSchema = `
CREATE TABLE products (
	id bigint PRIMARY KEY, name text NOT NULL, price numeric(10,2) NOT NULL, weight double precision NOT NULL,
	in_stock boolean NOT NULL, updated_at timestamptz NOT NULL, image bytea, note text);
INSERT INTO products
SELECT i, 'product ' || i, (i * 1.25)::numeric(10,2), i * 0.5, i % 2 = 0, now() - (i || ' minutes')::interval,
       decode(repeat('ab', 16), 'hex'), CASE WHEN i % 3 = 0 THEN NULL ELSE 'note ' || i END
FROM generate_series(1, 1000) i;
ANALYZE products;`

// BenchmarkSelect compares, for a Select of 1 row and of 100 rows into
// structs: a cache hit through cachedsql (memory backend), the uncached
// query through sqlx on loopback PostgreSQL (pgx), and a go-redis/cache hit
// from its local (in-process TinyLFU) cache.
func BenchmarkSelect(b *testing.B) {
	dsn := testenv.PostgresDB(b)
	raw := sqlx.MustConnect("pgx", dsn)
	defer raw.Close()
	raw.MustExec(productsSchema)
	cached, err := cachedsql.Connect("pgx", dsn, cachedsql.WithTTL(time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	defer cached.Close()
	ctx := context.Background()
	for _, n := range []int{1, 100} {
		query := fmt.Sprintf("SELECT id, name, price, weight, in_stock, updated_at, image, note FROM products WHERE id <= %d ORDER BY id", n)
		check := func(b *testing.B, got []product) {
			if len(got) != n || got[n-1].ID != int64(n) {
				b.Fatalf("got %d rows", len(got))
			}
		}
		b.Run(fmt.Sprintf("rows=%d/cachedsql_hit", n), func(b *testing.B) {
			var warm []product
			if err := cached.SelectContext(ctx, &warm, query); err != nil {
				b.Fatal(err)
			}
			before := cached.Region().Stats().Created
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				var got []product
				if err := cached.SelectContext(ctx, &got, query); err != nil {
					b.Fatal(err)
				}
				check(b, got)
			}
			if cached.Region().Stats().Created != before {
				b.Fatal("the benchmark missed the cache")
			}
		})
		b.Run(fmt.Sprintf("rows=%d/postgres_uncached", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var got []product
				if err := raw.SelectContext(ctx, &got, query); err != nil {
					b.Fatal(err)
				}
				check(b, got)
			}
		})
		b.Run(fmt.Sprintf("rows=%d/go-redis-cache_local_hit", n), func(b *testing.B) {
			c := rediscache.New(&rediscache.Options{LocalCache: rediscache.NewTinyLFU(1000, time.Hour)})
			var rows []product
			if err := raw.SelectContext(ctx, &rows, query); err != nil {
				b.Fatal(err)
			}
			key := fmt.Sprint("products:", n)
			if err := c.Set(&rediscache.Item{Ctx: ctx, Key: key, Value: rows, SetXX: false}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				var got []product
				if err := c.Get(ctx, key, &got); err != nil {
					b.Fatal(err)
				}
				check(b, got)
			}
		})
	}
}
