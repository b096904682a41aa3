package exampletest

import (
	"bytes"
	"go/parser"
	"go/token"
	"io"
	"strings"
	"testing"
)

// DocumentedOutput returns the output pasted in the doc comment of
// main.go in the test's directory: the tab-indented lines after its
// "# Output" heading, without the tab.
func DocumentedOutput(t testing.TB) []string {
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

// Run calls run, the example's main without os.Exit, and returns what it
// printed, line by line; it fails t if run returns an error.
func Run(t testing.TB, run func(io.Writer) error) []string {
	t.Helper()
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatalf("run: %v\noutput so far:\n%s", err, out.String())
	}
	return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
}

// Compare fails t unless got equals want from line from on (earlier lines
// may differ from run to run, say where a server is).
func Compare(t testing.TB, got, want []string, from int) {
	t.Helper()
	if len(got) < from || len(want) < from || strings.Join(got[from:], "\n") != strings.Join(want[from:], "\n") {
		t.Errorf("output:\n%s\n\nwant (from the doc comment):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Check runs the example and checks that it prints exactly what its doc
// comment says.
func Check(t testing.TB, run func(io.Writer) error) {
	t.Helper()
	Compare(t, Run(t, run), DocumentedOutput(t), 0)
}
