package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunIn(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-in", "testdata/sample.txt", "-out", dir}, &stdout, &stderr, false)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "2.50× otter") {
		t.Errorf("summary lacks the Hit ratio:\n%s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "warning: testdata/sample.txt:60:") {
		t.Errorf("the malformed line is not reported:\n%s", stderr.String())
	}
	for _, name := range []string{fileChart, fileMarkdown, fileRaw} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s not written: %v", name, err)
		}
	}
	raw, _ := os.ReadFile(filepath.Join(dir, fileRaw))
	sample, _ := os.ReadFile("testdata/sample.txt")
	if !bytes.Equal(raw, sample) {
		t.Errorf("raw.txt is not the input")
	}

	// Again from the raw.txt it wrote: the same file is left alone.
	stdout.Reset()
	if code := run(context.Background(), []string{"-in", filepath.Join(dir, fileRaw), "-out", dir}, &stdout, &stderr, false); code != 0 {
		t.Fatalf("exit %d re-rendering raw.txt in place; stderr:\n%s", code, stderr.String())
	}
	if raw2, _ := os.ReadFile(filepath.Join(dir, fileRaw)); !bytes.Equal(raw2, sample) {
		t.Errorf("raw.txt changed when read in place")
	}
}

func TestRunFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"help", []string{"-h"}, 0, "usage: go run ./cmd/benchreport"},
		{"bad count", []string{"-count", "0"}, 2, "-count 0: want 1 or more"},
		{"bad ratio", []string{"-ratio", "Hit"}, 2, "bad -ratio"},
		{"stray argument", []string{"x"}, 2, "unexpected arguments"},
		{"missing input", []string{"-in", "testdata/none.txt", "-out", "-"}, 1, "none.txt"},
		{"no results", []string{"-in", "testdata/results.md.golden", "-out", "-"}, 1, "no benchmark results"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr, false)
			if code != tt.code || !strings.Contains(stderr.String(), tt.msg) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tt.code, tt.msg)
			}
		})
	}
}
