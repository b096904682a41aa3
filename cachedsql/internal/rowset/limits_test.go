package rowset_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"testing"

	"github.com/dogpile-go/dogpile/cachedsql/internal/rowset"
)

// countQuery makes 10 rows of SQLite: n, a text and a blob.
const countQuery = `WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 10)
SELECT n, 'row ' || n AS label, CAST('b' || n AS BLOB) AS b FROM c`

func TestLimits(t *testing.T) {
	db := openSQLite(t)
	direct, err := db.Query(countQuery)
	if err != nil {
		t.Fatal(err)
	}
	want := observe(direct)
	full := materialize(t, db, countQuery)

	tests := []struct {
		name     string
		lim      rowset.Limits
		overflow bool
		read     int // rows read before the overflow
	}{
		{"none", rowset.Limits{}, false, 0},
		{"rows fit exactly", rowset.Limits{MaxRows: 10}, false, 0},
		{"rows one short", rowset.Limits{MaxRows: 9}, true, 9},
		{"one row", rowset.Limits{MaxRows: 1}, true, 1},
		{"bytes fit exactly", rowset.Limits{MaxBytes: full.Size()}, false, 0},
		{"bytes one short", rowset.Limits{MaxBytes: full.Size() - 1}, true, 10},
		{"bytes tiny", rowset.Limits{MaxBytes: 1}, true, 1},
		{"both, rows first", rowset.Limits{MaxRows: 3, MaxBytes: full.Size()}, true, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := db.Query(countQuery)
			if err != nil {
				t.Fatal(err)
			}
			set, over, err := rowset.Materialize(rows, tt.lim)
			if err != nil {
				t.Fatal(err)
			}
			if (over != nil) != tt.overflow || (set != nil) == tt.overflow {
				t.Fatalf("Materialize = set %v, overflow %v; want overflow %v", set != nil, over != nil, tt.overflow)
			}
			var src rowset.Source = set
			if over != nil {
				if got := over.Rows(); got != tt.read {
					t.Errorf("Overflow.Rows() = %d, want %d", got, tt.read)
				}
				src = over
			}
			replayed, err := rowset.Query(context.Background(), src)
			if err != nil {
				t.Fatal(err)
			}
			compareObservations(t, want, observe(replayed))
			if over != nil {
				if _, err := rowset.Query(context.Background(), over); !errors.Is(err, rowset.ErrOverflowReplayed) {
					t.Errorf("second replay = %v, want ErrOverflowReplayed", err)
				}
				if err := over.Close(); err != nil {
					t.Errorf("Close after the replay = %v", err)
				}
			}
			if n := db.Stats().InUse; n != 0 {
				t.Errorf("%d database connections in use after the replay", n)
			}
		})
	}
}

// overflow materializes countQuery with a limit of 3 rows.
func overflow(t *testing.T, db *sql.DB) *rowset.Overflow {
	t.Helper()
	rows, err := db.Query(countQuery)
	if err != nil {
		t.Fatal(err)
	}
	set, over, err := rowset.Materialize(rows, rowset.Limits{MaxRows: 3})
	if err != nil || set != nil || over == nil {
		t.Fatalf("Materialize = %v, %v, %v; want an overflow", set, over, err)
	}
	return over
}

func TestOverflowReplays(t *testing.T) {
	db := openSQLite(t)
	ctx := context.Background()
	type row struct {
		N     int64  `db:"n"`
		Label string `db:"label"`
		B     []byte `db:"b"`
	}
	var all []row
	if err := sqlxDB(db, "sqlite").Select(&all, countQuery); err != nil {
		t.Fatal(err)
	}
	released := func(t *testing.T) {
		t.Helper()
		if n := db.Stats().InUse; n != 0 {
			t.Errorf("%d database connections in use", n)
		}
	}

	t.Run("Select", func(t *testing.T) {
		var got []row
		if err := rowset.Select(ctx, overflow(t, db), &got, nil, false); err != nil {
			t.Fatal(err)
		}
		if !sameValue(all, got) {
			t.Errorf("Select = %v, want %v", got, all)
		}
		released(t)
	})
	t.Run("Get", func(t *testing.T) {
		var got row
		if err := rowset.Get(ctx, overflow(t, db), &got, nil, false); err != nil {
			t.Fatal(err)
		}
		if !sameValue(all[0], got) {
			t.Errorf("Get = %v, want %v", got, all[0])
		}
		released(t)
	})
	t.Run("QueryRow", func(t *testing.T) {
		var got row
		if err := rowset.QueryRow(ctx, overflow(t, db)).Scan(&got.N, &got.Label, &got.B); err != nil {
			t.Fatal(err)
		}
		if !sameValue(all[0], got) {
			t.Errorf("QueryRow = %v, want %v", got, all[0])
		}
		released(t)
	})
	t.Run("Queryx, closed early", func(t *testing.T) {
		rows, err := rowset.Queryx(ctx, overflow(t, db), nil, false)
		if err != nil {
			t.Fatal(err)
		}
		for range 5 { // past the buffered rows, into the live ones
			rows.Next()
		}
		rows.Close()
		released(t)
	})
	t.Run("closed, not replayed", func(t *testing.T) {
		over := overflow(t, db)
		if err := over.Close(); err != nil {
			t.Fatal(err)
		}
		released(t)
	})
	t.Run("replayed on a done context", func(t *testing.T) {
		over := overflow(t, db)
		done, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := rowset.Query(done, over); !errors.Is(err, context.Canceled) {
			t.Errorf("Query = %v, want context.Canceled", err)
		}
		released(t)
		var n int
		if err := rowset.QueryRow(ctx, over).Scan(&n); !errors.Is(err, rowset.ErrOverflowReplayed) {
			t.Errorf("QueryRow after the failed replay = %v, want ErrOverflowReplayed", err)
		}
	})
	t.Run("second replay", func(t *testing.T) {
		over := overflow(t, db)
		var got []row
		if err := rowset.Select(ctx, over, &got, nil, false); err != nil {
			t.Fatal(err)
		}
		if err := rowset.Select(ctx, over, &got, nil, false); !errors.Is(err, rowset.ErrOverflowReplayed) {
			t.Errorf("second Select = %v", err)
		}
		if err := rowset.Get(ctx, over, &got, nil, false); !errors.Is(err, rowset.ErrOverflowReplayed) {
			t.Errorf("Get after Select = %v", err)
		}
		if err := rowset.QueryRowx(ctx, over, nil, false).Scan(&got); !errors.Is(err, rowset.ErrOverflowReplayed) {
			t.Errorf("QueryRowx after Select = %v", err)
		}
	})
}

func TestOverflowResultSets(t *testing.T) {
	results := func() []fakeResult {
		r := multiResults()
		r = append(r, fakeResult{
			cols:    []string{"last"},
			dbTypes: []string{"TEXT"},
			rows:    [][]driver.Value{{"x"}, {"y"}},
		})
		return r
	}
	db, q := openFake(t, results()...)
	direct, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	want := observeAll(direct)
	for _, maxRows := range []int{1, 2, 3, 4, 5, 6} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		_, over, err := rowset.Materialize(rows, rowset.Limits{MaxRows: maxRows})
		if err != nil || over == nil {
			t.Fatalf("MaxRows %d: Materialize = %v, %v", maxRows, over, err)
		}
		replayed, err := rowset.Query(context.Background(), over)
		if err != nil {
			t.Fatal(err)
		}
		compareAll(t, want, observeAll(replayed))
	}

	// Skipping result sets part-way through the live rows.
	rows, _ := db.Query(q)
	_, over, _ := rowset.Materialize(rows, rowset.Limits{MaxRows: 1})
	replayed, err := rowset.Query(context.Background(), over)
	if err != nil {
		t.Fatal(err)
	}
	defer replayed.Close()
	replayed.Next()
	replayed.Next() // the first live row
	var names []string
	for replayed.NextResultSet() {
		cols, _ := replayed.Columns()
		names = append(names, cols[0])
	}
	if len(names) != 3 || names[0] != "empty" || names[2] != "last" {
		t.Errorf("result sets after skipping: %q", names)
	}
	if err := replayed.Err(); err != nil {
		t.Error(err)
	}
}

func TestOverflowLiveError(t *testing.T) {
	db, q := openFake(t, fakeResult{
		cols:     []string{"a"},
		rows:     [][]driver.Value{{int64(1)}, {int64(2)}, {int64(3)}},
		errAfter: 2,
	})
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	_, over, err := rowset.Materialize(rows, rowset.Limits{MaxRows: 1})
	if err != nil || over == nil {
		t.Fatalf("Materialize = %v, %v", over, err)
	}
	replayed, err := rowset.Query(context.Background(), over)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for replayed.Next() {
		n++
	}
	if n != 2 || !errors.Is(replayed.Err(), errFake) {
		t.Errorf("read %d rows, then Err = %v; want 2 and %v", n, replayed.Err(), errFake)
	}
}
