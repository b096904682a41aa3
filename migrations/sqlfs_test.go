package migrations_test

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/dogpile-go/dogpile/migrations"
)

// TestRenderedSQL: the file system goose reads is a well-behaved fs.FS,
// every placeholder is replaced, and every migration has a Down.
func TestRenderedSQL(t *testing.T) {
	fsys, err := migrations.RenderSQL("cache2", "cache2_invalidate", "cache2_notify")
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"00001_notify_trigger.sql", "00002_watch.sql", "00003_notify.sql", "00004_inheritance.sql", "00005_schema_changes.sql", "00006_grants.sql", "00007_watch_grants.sql"}
	if err := fstest.TestFS(fsys, files...); err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		for _, want := range []string{"-- +goose Up\n", "-- +goose Down\n", `"cache2".`} {
			if !strings.Contains(text, want) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
		if strings.Contains(text, "{{") || strings.Contains(text, `"dogpile".`) {
			t.Errorf("%s has a placeholder or the default schema left", name)
		}
	}
	b, _ := fs.ReadFile(fsys, "00001_notify_trigger.sql")
	if !strings.Contains(string(b), "SELECT 'cache2_invalidate'::text") {
		t.Error("the channel is not in channel()")
	}
}

// TestReservedKeywords: the names New rejects as keywords include every
// keyword the server reserves (pg_get_keywords catcode R and T).
func TestReservedKeywords(t *testing.T) {
	_, db := openDB(t)
	rows, err := db.QueryContext(t.Context(), "SELECT word FROM pg_get_keywords() WHERE catcode IN ('R', 'T')")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var w string
		if err := rows.Scan(&w); err != nil {
			t.Fatal(err)
		}
		n++
		if !migrations.ReservedKeywords[w] {
			t.Errorf("%q is reserved by the server but not in the list", w)
		}
	}
	if err := rows.Err(); err != nil || n == 0 {
		t.Fatalf("read %d keywords: %v", n, err)
	}
}
