package cachedsql_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/cachedsql"
	"github.com/dogpile-go/dogpile/clock"
	"github.com/dogpile-go/dogpile/invalidation"
	"github.com/dogpile-go/dogpile/region"
)

// ttlDB is newDB caching in a region on a manual clock, with no async
// runner, so that a stale result is replaced by the call that finds it.
func ttlDB(t *testing.T, opts ...cachedsql.Option) (*cachedsql.DB, string, *clock.Manual) {
	t.Helper()
	clk := clock.NewManual(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
	store, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tags, err := invalidation.NewTags(store, invalidation.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := region.New(t.Name(), region.WithClock(clk))
	r.MustConfigure(region.Config{Backend: tags})
	db, dsn := newDB(t, append([]cachedsql.Option{cachedsql.WithRegion(r)}, opts...)...)
	return db, dsn, clk
}

// readName reads item id's name and fails the test on an error.
func readName(t *testing.T, ctx context.Context, db *cachedsql.DB, id int) string {
	t.Helper()
	var name string
	if err := db.GetContext(ctx, &name, "SELECT name FROM items WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestTTL(t *testing.T) {
	ctx := context.Background()
	t.Run("per DB", func(t *testing.T) {
		db, dsn, clk := ttlDB(t, cachedsql.WithTTL(time.Minute), cachedsql.WithTTLJitter(0))
		readName(t, ctx, db, 1)
		behindTheBack(t, dsn, "UPDATE items SET name = 'pear' WHERE id = 1")
		clk.Advance(59 * time.Second)
		if got := readName(t, ctx, db, 1); got != "apple" {
			t.Fatalf("after 59s of a 1m TTL: %q, want the cached apple", got)
		}
		clk.Advance(2 * time.Second)
		if got := readName(t, ctx, db, 1); got != "pear" {
			t.Fatalf("after 61s of a 1m TTL: %q, want pear from the database", got)
		}
	})
	t.Run("per call", func(t *testing.T) {
		db, dsn, clk := ttlDB(t, cachedsql.WithTTL(time.Hour), cachedsql.WithTTLJitter(0))
		short := cachedsql.ContextWithTTL(ctx, 10*time.Second)
		readName(t, short, db, 1)
		readName(t, ctx, db, 2)
		behindTheBack(t, dsn, "UPDATE items SET name = name || '!'")
		clk.Advance(11 * time.Second)
		if got := readName(t, short, db, 1); got != "apple!" {
			t.Fatalf("after 11s of a 10s call TTL: %q, want apple!", got)
		}
		if got := readName(t, ctx, db, 2); got != "bread" {
			t.Fatalf("after 11s of the DB's 1h TTL: %q, want the cached bread", got)
		}
	})
	t.Run("jitter NaN is ignored", func(t *testing.T) {
		// NaN passes min and max: clamped as it came, it made every TTL
		// NaN-shortened, which the region reads as "never expires".
		db, dsn, clk := ttlDB(t, cachedsql.WithTTL(time.Minute), cachedsql.WithTTLJitter(math.NaN()))
		readName(t, ctx, db, 1)
		behindTheBack(t, dsn, "UPDATE items SET name = 'pear' WHERE id = 1")
		clk.Advance(61 * time.Second)
		if got := readName(t, ctx, db, 1); got != "pear" {
			t.Fatalf("61s after caching with a 1m TTL and a NaN jitter: %q, want pear from the database", got)
		}
	})
	t.Run("per call beyond the store TTL", func(t *testing.T) {
		// The DB's own region tells the store to drop values after twice
		// the DB's TTL; a longer call TTL must keep its values that long.
		clk := clock.NewManual(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
		store := memStore(t, memory.Options{EnableTTL: true, Clock: clk})
		db, dsn := newDB(t, cachedsql.WithBackend(store), cachedsql.WithTTL(time.Second), cachedsql.WithTTLJitter(0))
		long := cachedsql.ContextWithTTL(ctx, time.Hour)
		readName(t, long, db, 1)
		behindTheBack(t, dsn, "UPDATE items SET name = 'pear' WHERE id = 1")
		clk.Advance(time.Minute) // past the DB's store TTL (2s), well within the call's hour
		if got := readName(t, long, db, 1); got != "apple" {
			t.Fatalf("a minute into a 1h call TTL: %q, want the cached apple", got)
		}
	})
	t.Run("jitter", func(t *testing.T) {
		// With a jitter of a half, every key's TTL lies in [30s, 60s],
		// fixed per key: fresh before 30s, stale after 60s, and in
		// between as its jitter says.
		db, dsn, clk := ttlDB(t, cachedsql.WithTTL(time.Minute), cachedsql.WithTTLJitter(0.5))
		for id := 1; id <= 3; id++ {
			readName(t, ctx, db, id)
		}
		behindTheBack(t, dsn, "UPDATE items SET name = name || '!'")
		clk.Advance(29 * time.Second)
		for id, want := range map[int]string{1: "apple", 2: "bread", 3: "cheese"} {
			if got := readName(t, ctx, db, id); got != want {
				t.Fatalf("item %d after 29s: %q, want the cached %q", id, got, want)
			}
		}
		// At 59s a key still fresh without jitter has expired with it
		// (all three keys would need a jitter under 1/30 to stand).
		clk.Advance(30 * time.Second)
		refreshed := 0
		for id := 1; id <= 3; id++ {
			if name := readName(t, ctx, db, id); name[len(name)-1] == '!' {
				refreshed++
			}
		}
		if refreshed == 0 {
			t.Fatal("after 59s no key had expired: the jitter did not shorten any TTL")
		}
		clk.Advance(2 * time.Second)
		for id, want := range map[int]string{1: "apple!", 2: "bread!", 3: "cheese!"} {
			if got := readName(t, ctx, db, id); got != want {
				t.Fatalf("item %d after 61s: %q, want %q", id, got, want)
			}
		}
	})
}
