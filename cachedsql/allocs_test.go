package cachedsql_test

import (
	"testing"
)

// A cached read allocates no more than its result needs: the key, the
// lookup's tag states and the rows scanned out. The budget is what a hit
// takes today; a change that adds an allocation to every hit fails here
// before it shows in the benchmarks (an error check that moved its target
// to the heap on every call once did).
func TestCachedHitAllocations(t *testing.T) {
	db, _ := newDB(t)
	const q = "SELECT id, name, price FROM items WHERE id = $1"
	var it item
	if err := db.Get(&it, q, 1); err != nil {
		t.Fatal(err)
	}
	var items []item
	if err := db.Select(&items, q, 1); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		read   func() error
		budget float64
	}{
		{"Get", func() error { return db.Get(&it, q, 1) }, 5},
		{"Select", func() error { items = items[:0]; return db.Select(&items, q, 1) }, 5},
		// Through database/sql's Rows, which allocates on its own.
		{"QueryRowx", func() error { return db.QueryRowx(q, 1).StructScan(&it) }, 17},
	} {
		var err error
		n := testing.AllocsPerRun(200, func() {
			if e := c.read(); e != nil {
				err = e
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %.0f allocations per hit", c.name, n)
		if n > c.budget {
			t.Errorf("%s: a cached hit made %.0f allocations; the budget is %.0f", c.name, n, c.budget)
		}
	}
}
