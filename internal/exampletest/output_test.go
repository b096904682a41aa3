package exampletest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// recorder is a testing.TB that records failures instead of stopping.
type recorder struct {
	testing.TB
	failed bool
	msgs   []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.failed = true
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	panic(r) // stands for runtime.Goexit: recovered by check
}

func (r *recorder) Fatal(args ...any) { r.Fatalf("%s", fmt.Sprint(args...)) }

// check calls f with a recorder and reports whether it failed.
func check(t *testing.T, f func(tb testing.TB)) (failed bool) {
	r := &recorder{TB: t}
	defer func() {
		if v := recover(); v != nil && v != r {
			panic(v)
		}
		failed = r.failed
	}()
	f(r)
	return r.failed
}

func inDir(t *testing.T, mainGo string) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(mainGo), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
}

const mainGo = `// Command hello greets.
//
// # Output
//
//	hello
//	world
package main
`

func TestDocumentedOutputReadsTheIndentedLines(t *testing.T) {
	inDir(t, mainGo)
	if got := DocumentedOutput(t); !slices.Equal(got, []string{"hello", "world"}) {
		t.Fatalf("DocumentedOutput = %q", got)
	}
}

func TestCheck(t *testing.T) {
	inDir(t, mainGo)
	say := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	if check(t, func(tb testing.TB) { Check(tb, say("hello\nworld\n")) }) {
		t.Error("Check failed on the documented output")
	}
	if !check(t, func(tb testing.TB) { Check(tb, say("hello\nthere\n")) }) {
		t.Error("Check passed a different output")
	}
	if !check(t, func(tb testing.TB) { Check(tb, func(io.Writer) error { return errors.New("boom") }) }) {
		t.Error("Check passed a run that failed")
	}
}

func TestCompareFrom(t *testing.T) {
	if check(t, func(tb testing.TB) { Compare(tb, []string{"a", "x"}, []string{"b", "x"}, 1) }) {
		t.Error("Compare from 1 looked at line 0")
	}
	if !check(t, func(tb testing.TB) { Compare(tb, []string{"a"}, []string{"a", "x"}, 0) }) {
		t.Error("Compare passed a short output")
	}
}

func TestDocumentedOutputWithoutSection(t *testing.T) {
	inDir(t, "// Command hello greets.\npackage main\n")
	if !check(t, func(tb testing.TB) { DocumentedOutput(tb) }) {
		t.Error("DocumentedOutput passed a doc comment with no # Output section")
	}
}
