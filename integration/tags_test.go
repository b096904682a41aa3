package integration_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/dogpile-go/dogpile/cachedsql"
	"github.com/dogpile-go/dogpile/integration/harness"
)

// Invalidation by hand across two DBs sharing Redis (two processes, in
// effect), for writes neither saw: psql changes a row, both keep serving
// the cached value, and InvalidateTags, InvalidateTables or InvalidateAll
// on one makes the other read the new one.
func TestInvalidateByHandAcrossDBs(t *testing.T) {
	t.Parallel()
	pg := harness.SharedPostgres(t)
	dsn := newItemsDB(t, pg)
	url := harness.SharedRedis(t).URL()
	ns := namespace(t)
	one := connect(t, dsn, newRedisStore(t, url), ns)
	two := connect(t, dsn, newRedisStore(t, url), ns)
	ctx := context.Background()

	tests := []struct {
		name       string
		id         int
		tags       []string // the reads' own tags
		invalidate func() error
	}{
		{name: "InvalidateTags", id: 1, tags: []string{"report"}, invalidate: func() error { return one.InvalidateTags(ctx, "report") }},
		{name: "InvalidateTables", id: 2, invalidate: func() error { return one.InvalidateTables(ctx, "public.items") }},
		{name: "InvalidateAll", id: 3, invalidate: func() error { return one.InvalidateAll(ctx) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rctx := cachedsql.ContextWithTags(ctx, tt.tags...)
			readTwo := func() read {
				t.Helper()
				r, err := tryRead(rctx, two, tt.id)
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			if _, err := tryRead(rctx, one, tt.id); err != nil {
				t.Fatal(err)
			}
			old := readTwo()
			if !old.Hit {
				t.Fatalf("the second DB missed what the first cached: %+v", old)
			}
			pg.Psql(t, dsn, fmt.Sprintf("UPDATE items SET n = n + 1 WHERE id = %d", tt.id))
			if r := readTwo(); r.N != old.N || !r.Hit {
				t.Fatalf("after a write no DB saw: %+v, want the cached %d", r, old.N)
			}
			if err := tt.invalidate(); err != nil {
				t.Fatal(err)
			}
			if r := readTwo(); r.N != old.N+1 || r.Hit {
				t.Fatalf("after %s on the other DB: %+v, want %d from the database", tt.name, r, old.N+1)
			}
		})
	}
}
