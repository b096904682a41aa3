package sqlxreadme_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dogpile-go/dogpile/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	sqlxImport      = `"github.com/jmoiron/sqlx"`
	cachedsqlImport = `sqlx "github.com/dogpile-go/dogpile/cachedsql"`
)

// TestOnlyTheImportDiffers: the cachedsql program is sqlx's README
// program with one line changed.
func TestOnlyTheImportDiffers(t *testing.T) {
	read := func(path string) []string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(string(b), "\n")
	}
	a, b := read("sqlx/main.go"), read("cachedsql/main.go")
	if len(a) != len(b) {
		t.Fatalf("sqlx/main.go has %d lines, cachedsql/main.go %d", len(a), len(b))
	}
	var diffs []int
	for i := range a {
		if a[i] != b[i] {
			diffs = append(diffs, i)
		}
	}
	if len(diffs) != 1 {
		t.Fatalf("the programs differ on %d lines (%v), want 1: the import", len(diffs), diffs)
	}
	i := diffs[0]
	if strings.TrimSpace(a[i]) != sqlxImport || strings.TrimSpace(b[i]) != cachedsqlImport {
		t.Fatalf("line %d: %q and %q, want the imports %s and %s", i+1, a[i], b[i], sqlxImport, cachedsqlImport)
	}
}

// TestSameOutput builds both programs and runs each against a fresh
// database of its own, twice (the program drops its tables first): all
// four runs print the same.
func TestSameOutput(t *testing.T) {
	goTool, err := exec.LookPath("go") // go test puts GOROOT/bin first in PATH
	if err != nil {
		t.Skip("no go command to build the programs with:", err)
	}
	dir := t.TempDir()
	var outputs []string
	for _, prog := range []string{"sqlx", "cachedsql"} {
		bin := filepath.Join(dir, prog)
		build := exec.Command(goTool, "build", "-o", bin, "./"+prog)
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build ./%s: %v\n%s", prog, err, out)
		}
		dsn := testenv.PostgresDB(t)
		for run := 1; run <= 2; run++ {
			cmd := exec.Command(bin)
			cmd.Env = append(os.Environ(), "DATABASE_URL="+dsn)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s, run %d: %v\n%s", prog, run, err, stderr.Bytes())
			}
			t.Logf("%s, run %d:\n%s", prog, run, out)
			outputs = append(outputs, string(out))
		}
	}
	if !strings.Contains(outputs[0], `main.Person{FirstName:"Jason", LastName:"Moiron", Email:"jmoiron@jmoiron.net"}`) ||
		!strings.Contains(outputs[0], "10 people:") {
		t.Fatalf("sqlx's program printed something else than its README says:\n%s", outputs[0])
	}
	for i, out := range outputs[1:] {
		if out != outputs[0] {
			t.Errorf("run %d printed:\n%s\nwant, as sqlx's first run:\n%s", i+2, out, outputs[0])
		}
	}
}
