package main

import (
	"bytes"
	"go/parser"
	"go/token"
	"strings"
	"testing"

	"github.com/dogpile-go/dogpile/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// documentedOutput returns the output pasted in the package doc comment:
// the indented lines after its "# Output" heading.
func documentedOutput(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	_, out, ok := strings.Cut(f.Doc.Text(), "\n# Output\n")
	if !ok {
		t.Fatal("the doc comment of main.go has no # Output section")
	}
	var lines []string
	for line := range strings.SplitSeq(out, "\n") {
		if text, ok := strings.CutPrefix(line, "\t"); ok {
			lines = append(lines, text)
		}
	}
	return lines
}

// runLines runs the example with the environment given and returns what
// it printed, line by line.
func runLines(t *testing.T, databaseURL, redisURL string) []string {
	t.Helper()
	t.Setenv("DATABASE_URL", databaseURL)
	t.Setenv("REDIS_URL", redisURL)
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatalf("run: %v\noutput so far:\n%s", err, out.String())
	}
	return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
}

func compare(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("output:\n%s\n\nwant (from the doc comment):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestDocumentedOutput runs the example on the embedded default (SQLite,
// the memory store) and checks that it prints what its doc comment says.
func TestDocumentedOutput(t *testing.T) {
	compare(t, runLines(t, "", ""), documentedOutput(t))
}

// TestPostgres runs the example on PostgreSQL: the same output but for
// the line that names the database.
func TestPostgres(t *testing.T) {
	got, want := runLines(t, testenv.PostgresDB(t), ""), documentedOutput(t)
	if got[0] != "database: PostgreSQL at DATABASE_URL; cache: process memory" {
		t.Errorf("first line %q does not say PostgreSQL and memory", got[0])
	}
	compare(t, got[1:], want[1:])
}

// TestPostgresRedis runs the example on PostgreSQL with the cache in
// Redis.
func TestPostgresRedis(t *testing.T) {
	got, want := runLines(t, testenv.PostgresDB(t), testenv.SharedRedis(t).URL()), documentedOutput(t)
	if got[0] != "database: PostgreSQL at DATABASE_URL; cache: Redis at REDIS_URL" {
		t.Errorf("first line %q does not say PostgreSQL and Redis", got[0])
	}
	compare(t, got[1:], want[1:])
}
