package rowset_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/dogpile-go/dogpile/cachedsql/internal/rowset"
	_ "modernc.org/sqlite"
)

func TestSmoke(t *testing.T) {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("select 1 as a, 'x' as b, x'0102' as c, null as d, 1.5 as e")
	if err != nil {
		t.Fatal(err)
	}
	set, over, err := rowset.Materialize(rows, rowset.Limits{})
	if err != nil || over != nil {
		t.Fatal(err, over)
	}
	r, err := rowset.Query(context.Background(), set)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cols, _ := r.Columns()
	t.Log(cols)
	for r.Next() {
		var a, b, c, d, e any
		if err := r.Scan(&a, &b, &c, &d, &e); err != nil {
			t.Fatal(err)
		}
		t.Logf("%#v %#v %#v %#v %#v", a, b, c, d, e)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	b, err := set.MarshalBinary()
	t.Log(len(b), err)
	s2, err := rowset.Decode(b)
	t.Log(s2, err)
}
