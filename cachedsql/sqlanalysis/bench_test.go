package sqlanalysis_test

import (
	"testing"

	"github.com/dogpile-go/dogpile/cachedsql/sqlanalysis"
)

var benchStatements = []struct {
	name string
	sql  string
}{
	{"point_lookup", "SELECT id, name, email FROM users WHERE id = $1"},
	{"join_aggregate", "SELECT u.id, count(o.id) FROM users u LEFT JOIN orders o ON o.user_id = u.id WHERE u.org_id = $1 GROUP BY u.id ORDER BY 2 DESC LIMIT 20"},
	{"cte_subqueries", "WITH recent AS (SELECT * FROM orders WHERE created_at > $1) SELECT c.name, (SELECT count(*) FROM recent r WHERE r.customer_id = c.id) FROM customers c WHERE EXISTS (SELECT 1 FROM recent r WHERE r.customer_id = c.id)"},
	{"upsert", "INSERT INTO page_views (page_id, day, views) VALUES ($1, $2, 1) ON CONFLICT (page_id, day) DO UPDATE SET views = page_views.views + 1"},
}

func BenchmarkAnalyze(b *testing.B) {
	for _, bs := range benchStatements {
		b.Run(bs.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bs.sql)))
			for b.Loop() {
				if _, err := sqlanalysis.Analyze(bs.sql); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkNormalize(b *testing.B) {
	sql := benchStatements[1].sql
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sqlanalysis.Normalize(sql); err != nil {
			b.Fatal(err)
		}
	}
}
