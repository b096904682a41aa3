package rowset_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/cachedsql/internal/rowset"
)

// observeAll observes every result set of rows.
func observeAll(rows *sql.Rows) []observation {
	var all []observation
	for {
		o := observeResult(rows)
		all = append(all, o)
		if o.Err != nil || !rows.NextResultSet() {
			break
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		all = append(all, observation{Err: err})
	}
	return all
}

func compareAll(t *testing.T, want, got []observation) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%d result sets, want %d", len(got), len(want))
	}
	for i := range want {
		compareObservations(t, want[i], got[i])
	}
}

// multiResults is a function, so that its Local is the one TestMain sets.
func multiResults() []fakeResult {
	return []fakeResult{
		{
			cols:    []string{"id", "name", "blob"},
			dbTypes: []string{"INT", "TEXT", "BLOB"},
			rows: [][]driver.Value{
				{int64(1), "one", []byte("b1")},
				{int64(2), "two", []byte{}},
				{int64(3), nil, []byte(nil)},
			},
		},
		{cols: []string{"empty"}, dbTypes: []string{"INT"}}, // an empty result set between two
		{
			cols:    []string{"at", "ok", "f"},
			dbTypes: []string{"TIMESTAMP", "BOOL", "REAL"},
			rows: [][]driver.Value{
				{time.Date(2020, 1, 2, 3, 4, 5, 6, time.UTC), true, 1.5},
				{time.Date(2021, 1, 2, 3, 4, 5, 6, time.Local), false, math.Copysign(0, -1)},
			},
		},
	}
}

func TestMultipleResultSets(t *testing.T) {
	db, q := openFake(t, multiResults()...)
	ctx := context.Background()
	direct, err := db.QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	want := observeAll(direct)
	set := materialize(t, db, q)
	if got := set.Rows(); got != 5 {
		t.Errorf("Rows() = %d, want 5", got)
	}
	for _, p := range paths(t, set) {
		t.Run(p.name, func(t *testing.T) {
			rows, err := rowset.Query(ctx, p.set)
			if err != nil {
				t.Fatal(err)
			}
			compareAll(t, want, observeAll(rows))
		})
	}

	// Skipping to the next result set without reading the rows.
	rows, err := rowset.Query(ctx, set)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for range 2 {
		if !rows.NextResultSet() {
			t.Fatal("NextResultSet = false")
		}
	}
	if cols, _ := rows.Columns(); len(cols) != 3 || cols[0] != "at" {
		t.Errorf("third result's Columns = %q", cols)
	}
	if rows.NextResultSet() {
		t.Error("NextResultSet past the last = true")
	}
}

func TestUntypedDriver(t *testing.T) {
	// Rows without the ColumnType interfaces: database/sql reports the
	// scan type any and nothing else, and so must a replay.
	db, q := openFake(t, fakeResult{
		cols: []string{"i", "u", "f32", "s"},
		rows: [][]driver.Value{{int32(7), uint64(1 << 63), float32(1.25), "x"}},
	})
	compareReplay(t, db, q)
}

func TestMaterializeErrors(t *testing.T) {
	tests := []struct {
		name    string
		results []fakeResult
	}{
		{"first result", []fakeResult{{cols: []string{"a"}, rows: [][]driver.Value{{int64(1)}, {int64(2)}}, errAfter: 1}}},
		{"second result", []fakeResult{
			{cols: []string{"a"}, rows: [][]driver.Value{{int64(1)}}},
			{cols: []string{"b"}, rows: [][]driver.Value{{int64(1)}, {int64(2)}}, errAfter: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, q := openFake(t, tt.results...)
			rows, err := db.Query(q)
			if err != nil {
				t.Fatal(err)
			}
			set, over, err := rowset.Materialize(rows, rowset.Limits{})
			if !errors.Is(err, errFake) || set != nil || over != nil {
				t.Errorf("Materialize = %v, %v, %v; want nil, nil, %v", set, over, err, errFake)
			}
			if n := db.Stats().InUse; n != 0 {
				t.Errorf("%d connections in use after the error; want the rows closed", n)
			}
		})
	}
}
