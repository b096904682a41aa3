package rowset_test

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/dogpile-go/dogpile/cachedsql/internal/rowset"
	"github.com/jmoiron/sqlx/reflectx"
)

// blobSet is a set with []byte cells in two columns, plus a string.
func blobSet(t testing.TB) *rowset.Set {
	db, q := openFake(t, fakeResult{
		cols: []string{"a", "b", "s"},
		rows: [][]driver.Value{
			{[]byte("first"), []byte("second"), "text"},
			{[]byte("third"), []byte{}, "more"},
			{nil, []byte("fourth"), ""},
		},
	})
	return materialize(t, db, q)
}

// scribbler is an sql.Scanner that overwrites the bytes it is given, as a
// careless one might.
type scribbler struct{}

func (scribbler) Scan(src any) error {
	if b, ok := src.([]byte); ok {
		for i := range b {
			b[i] = 'X'
		}
	}
	return nil
}

// readAll returns every row of a replay of set, as strings.
func readAll(t *testing.T, set *rowset.Set) []string {
	t.Helper()
	rows, err := rowset.Query(context.Background(), set)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a, b []byte
		var s string
		if err := rows.Scan(&a, &b, &s); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%q %q %q", a, b, s))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReplayIsolation(t *testing.T) {
	ctx := context.Background()
	for _, p := range paths(t, blobSet(t)) {
		t.Run(p.name, func(t *testing.T) {
			want := readAll(t, p.set)
			attacks := []struct {
				name  string
				apply func(t *testing.T, rows *sql.Rows)
			}{
				{"RawBytes overwritten", func(t *testing.T, rows *sql.Rows) {
					var a, b sql.RawBytes
					var s string
					if err := rows.Scan(&a, &b, &s); err != nil {
						t.Fatal(err)
					}
					for i := range a {
						a[i] = 'X'
					}
					for i := range b {
						b[i] = 'Y'
					}
				}},
				{"RawBytes appended to", func(t *testing.T, rows *sql.Rows) {
					var a, b sql.RawBytes
					var s string
					if err := rows.Scan(&a, &b, &s); err != nil {
						t.Fatal(err)
					}
					a = append(a, "ZZZZZZZZZZZZ"...) // must not run into b
					if len(b) > 0 && b[0] == 'Z' {
						t.Error("appending to one RawBytes changed the next")
					}
					_ = a
				}},
				{"Scanner overwrites its source", func(t *testing.T, rows *sql.Rows) {
					var s string
					if err := rows.Scan(scribbler{}, scribbler{}, &s); err != nil {
						t.Fatal(err)
					}
				}},
				{"*any overwritten", func(t *testing.T, rows *sql.Rows) {
					var a, b, s any
					if err := rows.Scan(&a, &b, &s); err != nil {
						t.Fatal(err)
					}
					if a, ok := a.([]byte); ok {
						copy(a, "XXXXXXXX")
					}
				}},
				{"Columns overwritten", func(t *testing.T, rows *sql.Rows) {
					cols, err := rows.Columns()
					if err != nil {
						t.Fatal(err)
					}
					cols[0] = "changed"
				}},
			}
			for _, a := range attacks {
				rows, err := rowset.Query(ctx, p.set)
				if err != nil {
					t.Fatal(err)
				}
				for rows.Next() {
					a.apply(t, rows)
				}
				rows.Close()
				if got := readAll(t, p.set); strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("%s: the next replay reads\n%s\nwant\n%s", a.name, strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
				rows, _ = rowset.Query(ctx, p.set)
				if cols, _ := rows.Columns(); cols[0] != "a" {
					t.Errorf("%s: the next replay's Columns = %q", a.name, cols)
				}
				rows.Close()
			}
		})
	}
}

func TestReplayConcurrent(t *testing.T) {
	set := blobSet(t)
	want := readAll(t, set)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for range 50 {
				rows, err := rowset.Query(context.Background(), set)
				if err != nil {
					errs <- err
					return
				}
				var got []string
				for rows.Next() {
					var a, b sql.RawBytes
					var s string
					if err := rows.Scan(&a, &b, &s); err != nil {
						errs <- err
						return
					}
					got = append(got, fmt.Sprintf("%q %q %q", a, b, s))
					for i := range a {
						a[i] = '!'
					}
				}
				rows.Close()
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					errs <- fmt.Errorf("concurrent replay read %q", got)
					return
				}
			}
		})
	}
	// Direct scans, whose plans the Set caches, at the same time.
	type row struct {
		A, B []byte
		S    string
	}
	for i := range 4 {
		wg.Go(func() {
			for range 50 {
				var got []row
				var err error
				if i%2 == 0 {
					err = rowset.Select(context.Background(), set, &got, nil, false)
				} else {
					var one row
					err = rowset.Get(context.Background(), set, &one, nil, false)
					got = append(got, one)
				}
				if err != nil {
					errs <- err
					return
				}
				if got[0].S != "text" || string(got[0].A) != "first" {
					errs <- fmt.Errorf("concurrent direct scan read %+v", got[0])
					return
				}
				got[0].A[0] = '!'
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := rowset.ReplayDB().Stats().InUse; n != 0 {
		t.Errorf("%d replay connections in use after every replay closed", n)
	}
}

func TestReplayContext(t *testing.T) {
	set := blobSet(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := rowset.Query(cancelled, set); !errors.Is(err, context.Canceled) {
		t.Errorf("Query(cancelled) = %v, want context.Canceled", err)
	}
	var a, b, s any
	if err := rowset.QueryRow(cancelled, set).Scan(&a, &b, &s); !errors.Is(err, context.Canceled) {
		t.Errorf("QueryRow(cancelled).Scan = %v, want context.Canceled", err)
	}
	var dest []struct{ A, B, S []byte }
	if err := rowset.Select(cancelled, set, &dest, nil, false); !errors.Is(err, context.Canceled) {
		t.Errorf("Select(cancelled) = %v, want context.Canceled", err)
	}

	// Cancelled during the iteration.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rows, err := rowset.Query(ctx, set)
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatal("no first row")
	}
	cancel()
	if rows.Next() {
		t.Error("Next after cancel = true")
	}
	if err := rows.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err after cancel = %v, want context.Canceled", err)
	}

	// Values pass through the replay's context untouched.
	type key struct{}
	withValue := context.WithValue(context.Background(), key{}, "v")
	rows, err = rowset.Query(withValue, set)
	if err != nil {
		t.Fatal(err)
	}
	rows.Close()
}

func TestEmptySet(t *testing.T) {
	if _, err := rowset.Query(context.Background(), &rowset.Set{}); err == nil {
		t.Error("Query(&Set{}) succeeded")
	}
}

// TestSqlxSettings checks that a replay scans with the caller's mapper and
// unsafe setting, failing and succeeding as sqlx does on the database.
func TestSqlxSettings(t *testing.T) {
	db := openSQLite(t)
	if _, err := db.Exec(sqliteDDL); err != nil {
		t.Fatal(err)
	}
	const query = "SELECT id, t AS Title, n AS extra FROM things ORDER BY id"
	set := materialize(t, db, query)
	upper := reflectx.NewMapperFunc("col", strings.ToUpper)
	type row struct {
		ID    int64          `col:"id"`
		Title sql.NullString `col:"Title"`
	}
	type lower struct {
		ID    int64          `db:"id"`
		Title sql.NullString `db:"title"`
	}
	tests := []struct {
		name   string
		mapper *reflectx.Mapper
		unsafe bool
		dest   func() any
	}{
		{"default mapper, missing field", nil, false, func() any { return new([]lower) }},
		{"default mapper, unsafe", nil, true, func() any { return new([]lower) }},
		{"custom mapper, missing field", upper, false, func() any { return new([]row) }},
		{"custom mapper, unsafe", upper, true, func() any { return new([]row) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			xdb := sqlxDB(db, "sqlite")
			if tt.mapper != nil {
				xdb.Mapper = tt.mapper
			}
			if tt.unsafe {
				xdb = xdb.Unsafe()
			}
			want, got := tt.dest(), tt.dest()
			wantErr := xdb.Select(want, query)
			for _, p := range paths(t, set) {
				err := rowset.Select(context.Background(), p.set, got, tt.mapper, tt.unsafe)
				if !sameError(err, wantErr) {
					t.Errorf("%s: Select error = %v, want %v", p.name, err, wantErr)
				}
				if !sameValue(want, got) {
					t.Errorf("%s: Select = %+v, want %+v", p.name, got, want)
				}
				rows, err := rowset.Queryx(context.Background(), p.set, tt.mapper, tt.unsafe)
				if err != nil {
					t.Fatal(err)
				}
				if rows.Mapper != xdb.Mapper {
					t.Errorf("%s: Queryx rows have another mapper", p.name)
				}
				rows.Close()
			}
		})
	}
}

func TestReplayBytesShareNothing(t *testing.T) {
	// Two replays of the same cell get different memory.
	set := blobSet(t)
	var one, two sql.RawBytes
	r1, _ := rowset.Query(context.Background(), set)
	r2, _ := rowset.Query(context.Background(), set)
	defer r1.Close()
	defer r2.Close()
	r1.Next()
	r2.Next()
	var s1, s2 string
	var b1, b2 any
	if err := r1.Scan(&one, &b1, &s1); err != nil {
		t.Fatal(err)
	}
	if err := r2.Scan(&two, &b2, &s2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(one, two) || &one[0] == &two[0] {
		t.Errorf("two replays share the bytes of a cell (%q at %p, %q at %p)", one, &one[0], two, &two[0])
	}
}
