package main

import (
	"bytes"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := "testdata/" + name
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what was rendered (go test -update rewrites it after a deliberate change):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestMarkdownGolden(t *testing.T) {
	res := parseSample(t, builtinRules)
	var b bytes.Buffer
	if err := WriteMarkdown(&b, res, "results.svg"); err != nil {
		t.Fatal(err)
	}
	golden(t, "results.md.golden", b.Bytes())
}

func TestSummaryGolden(t *testing.T) {
	res := parseSample(t, builtinRules)
	var b bytes.Buffer
	if err := WriteSummary(&b, res); err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.txt.golden", b.Bytes())
}

func TestMarkdownBusyMachine(t *testing.T) {
	res := parseSample(t, builtinRules)
	res.Machine.OtherCPU = "1.20"
	var b bytes.Buffer
	if err := WriteMarkdown(&b, res, "results.svg"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b.Bytes(), []byte("> "+busyWarning())) {
		t.Errorf("no warning for a busy machine:\n%s", b.String())
	}
	if !bytes.Contains(b.Bytes(), []byte("other processes used 1.20 of 2 cores")) {
		t.Errorf("the other processes' CPU is not stated:\n%s", b.String())
	}
}
