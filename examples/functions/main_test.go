package main

import (
	"bytes"
	"go/parser"
	"go/token"
	"strings"
	"testing"
)

// documentedOutput returns the output pasted in the package doc comment:
// the indented lines after its "# Output" heading.
func documentedOutput(t *testing.T) string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	_, out, ok := strings.Cut(f.Doc.Text(), "\n# Output\n")
	if !ok {
		t.Fatal("the doc comment of main.go has no # Output section")
	}
	var b strings.Builder
	for line := range strings.SplitSeq(out, "\n") {
		if text, ok := strings.CutPrefix(line, "\t"); ok {
			b.WriteString(text + "\n")
		}
	}
	return b.String()
}

// TestDocumentedOutput runs the example and checks that it prints what
// its doc comment says.
func TestDocumentedOutput(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatalf("run: %v\noutput so far:\n%s", err, out.String())
	}
	if got, want := out.String(), documentedOutput(t); got != want {
		t.Errorf("output:\n%s\nwant (from the doc comment):\n%s", got, want)
	}
}
