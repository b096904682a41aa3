package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestTopLevelPattern(t *testing.T) {
	tests := []struct{ in, want string }{
		{".", "."},
		{"Hit$", "Hit$"},
		{"Select/rows=1", "Select"},
		{"Select/rows=1|Hit", "Select|Hit"},
		{"Hit|Serializer/json", "Hit|Serializer"},
		{"(Hit|Select)/x", "(Hit|Select)"},
		{"[/]x/y", "[/]x"},
		{`a\/b/c`, `a\/b`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := topLevelPattern(tt.in); got != tt.want {
				t.Errorf("topLevelPattern(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestBenchArgs(t *testing.T) {
	o := options{bench: ".", count: 5, benchtime: "2s", cpu: "1,2"}
	got := commandLine(benchArgs(o))
	want := "go test -run '^$' -bench . -benchmem -count 5 -benchtime 2s -cpu 1,2 -timeout 0s ."
	if got != want {
		t.Errorf("command\n got %s\nwant %s", got, want)
	}
}

func TestHintsFrom(t *testing.T) {
	hints := hintsFrom("testdata/sample.txt")
	want := map[string]int{"BenchmarkSelect": 5, "BenchmarkRedisHit": 3, "BenchmarkHit": 3, "BenchmarkSerializer": 2, "BenchmarkTiered": 2, "BenchmarkPlain": 1}
	for k, v := range want {
		if hints[k] != v {
			t.Errorf("hints[%s] = %d, want %d (all: %v)", k, hints[k], v, hints)
		}
	}
	if hintsFrom(filepath.Join(t.TempDir(), "none.txt")) != nil {
		t.Errorf("hints from a missing file")
	}
}

func TestRawHeaderRoundTrip(t *testing.T) {
	m := Machine{CPU: "X", Cores: 4, Go: "go1.26.8", Date: time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC),
		LoadStart: "1 2 3", LoadEnd: "4 5 6", Command: "go test -bench .", Rounds: 3, Elapsed: 90 * time.Second, OtherCPU: "0.25"}
	path := filepath.Join(t.TempDir(), "raw.txt")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteRawHeader(f, m); err != nil {
		t.Fatal(err)
	}
	if err := WriteRawFooter(f, m); err != nil {
		t.Fatal(err)
	}
	f.Close()
	data, _ := os.ReadFile(path)
	if got := parseRawHeader(data); got != m {
		t.Errorf("read back\n got %+v\nwant %+v", got, m)
	}
}
