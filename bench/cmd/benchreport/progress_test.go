package main

import (
	"bytes"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// fakeClock is a clock that tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestProgress(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var out bytes.Buffer
	p := NewProgress(&out, clock.now, false, []string{"BenchmarkHit", "BenchmarkSerializer"}, 2, 1, nil)
	p.Start()
	clock.advance(10 * time.Second) // building
	p.Line("goos: linux")
	p.Partial("BenchmarkHit/region-2         \t")
	clock.advance(time.Second)
	p.Line("BenchmarkHit/region-2         \t 100\t 40.0 ns/op\t 0 B/op\t 0 allocs/op")
	p.Partial("BenchmarkHit/region-2         \t")
	clock.advance(time.Second)
	p.Line("BenchmarkHit/region-2         \t 100\t 42.0 ns/op\t 0 B/op\t 0 allocs/op")
	clock.advance(time.Second)
	p.Line("BenchmarkHit/otter-2          \t 100\t 16.0 ns/op\t 0 B/op\t 0 allocs/op")
	clock.advance(time.Second)
	p.Line("BenchmarkHit/otter-2          \t 100\t 16.0 ns/op\t 0 B/op\t 0 allocs/op")
	p.Line("--- FAIL: BenchmarkSerializer/json")
	p.Line("    serializer_test.go:70: boom")
	p.Line("PASS")
	p.Finish(nil)

	got := out.String()
	for _, want := range []string{
		"benchreport: 2 benchmarks to run (go test -list): Hit, Serializer; 2 results per variant\n",
		"benchreport: [1/2 Hit] started · 0:10 elapsed\n",
		// One result of an estimated 4 (1 variant so far in Hit, as many
		// guessed for Serializer), each taking 1 s after the build.
		"benchreport: [1/2 Hit] Hit/region-2 run 1/2: 40.0 ns/op · 1/~4 results · 0:11 elapsed · ~0:03 left\n",
		"benchreport: [1/2 Hit] Hit/otter-2 run 2/2: 16.0 ns/op · 4/~6 results · 0:14 elapsed · ~0:02 left\n",
		"benchreport: go test: --- FAIL: BenchmarkSerializer/json\n",
		"benchreport: go test:     serializer_test.go:70: boom\n",
		"benchreport: [1/2 Hit] done: 2 variants × 2 results · 0:14 elapsed",
		"benchreport: finished: 4 results in 0:14\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("progress lacks %q; got:\n%s", want, got)
		}
	}
	for _, quiet := range []string{"goos", "PASS"} {
		if strings.Contains(got, "go test: "+quiet) {
			t.Errorf("progress passes on %q:\n%s", quiet, got)
		}
	}
	if strings.Contains(got, "\r") {
		t.Errorf("progress not on a terminal has carriage returns:\n%q", got)
	}
}

func TestProgressHints(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var out bytes.Buffer
	hints := map[string]int{"BenchmarkA": 2, "BenchmarkB": 3}
	p := NewProgress(&out, clock.now, false, []string{"BenchmarkA", "BenchmarkB"}, 1, 1, hints)
	p.Start()
	p.Partial("BenchmarkA/x")
	clock.advance(2 * time.Second)
	p.Line("BenchmarkA/x 1 5 ns/op")
	if want := "1/5 results · 0:02 elapsed · ~0:08 left"; !strings.Contains(out.String(), want) {
		t.Errorf("with hints for every benchmark the total is known; want %q in:\n%s", want, out.String())
	}
}

func TestProgressTerminal(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var out bytes.Buffer
	p := NewProgress(&out, clock.now, true, []string{"BenchmarkA"}, 1, 1, nil)
	p.Start()
	p.Partial("BenchmarkA/x")
	p.Line("BenchmarkA/x 1 5 ns/op")
	p.Finish(nil)
	got := out.String()
	if !strings.Contains(got, "\r\033[K  ▸ [1/1 A] running A/x (run 1/1)") {
		t.Errorf("no status line for the running benchmark:\n%q", got)
	}
	if !strings.HasSuffix(got, "\r\033[Kbenchreport: finished: 1 results in 0:00\n") {
		t.Errorf("the status line is not cleared at the end:\n%q", got)
	}
}

func TestStreamOutput(t *testing.T) {
	in := "goos: linux\nBenchmarkHit/region-2   \t 100\t 40 ns/op\nBenchmarkHit/otter-2   \t 100\t 16 ns/op\nno newline"
	var raw bytes.Buffer
	var lines, partials []string
	// One byte at a time: a name arrives before its result, as from go test.
	err := streamOutput(iotest.OneByteReader(strings.NewReader(in)), &raw,
		func(s string) { lines = append(lines, s) },
		func(s string) { partials = append(partials, s) })
	if err != nil {
		t.Fatal(err)
	}
	if raw.String() != in {
		t.Errorf("raw %q, want the input unchanged", raw.String())
	}
	if want := []string{"goos: linux", "BenchmarkHit/region-2   \t 100\t 40 ns/op", "BenchmarkHit/otter-2   \t 100\t 16 ns/op", "no newline"}; strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("lines %q, want %q", lines, want)
	}
	found := false
	for _, p := range partials {
		found = found || p == "BenchmarkHit/otter-2   \t"
	}
	if !found {
		t.Errorf("partials %q lack the running benchmark's name", partials)
	}
}

func TestProgressRounds(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var out bytes.Buffer
	p := NewProgress(&out, clock.now, false, []string{"BenchmarkA", "BenchmarkB"}, 1, 2, nil)
	p.Start()
	for range 2 {
		for _, line := range []string{"BenchmarkA/x 1 5 ns/op", "BenchmarkA/y 1 5 ns/op", "BenchmarkB/z 1 5 ns/op"} {
			clock.advance(time.Second)
			p.Line(line)
		}
		p.EndRound()
	}
	p.Finish(nil)
	got := out.String()
	for _, want := range []string{
		"2 benchmarks to run (go test -list): A, B; 2 results per variant, 1 a round in 2 rounds\n",
		"[round 1/2, 1/2 A] A/x run 1/2: 5.00 ns/op · 1/~4 results",
		"[round 1/2, 2/2 B] done: 1 variant × 1 result",
		"[round 2/2, 1/2 A] started",
		// Round 2 knows every benchmark's count from round 1.
		"[round 2/2, 1/2 A] A/y run 2/2: 5.00 ns/op · 5/6 results",
		"finished: 6 results in 0:06",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("progress lacks %q; got:\n%s", want, got)
		}
	}
}

func TestProgressRoundsOfOne(t *testing.T) {
	// One benchmark a round: only the end of the round tells the rounds
	// apart, as the names are the same.
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var out bytes.Buffer
	p := NewProgress(&out, clock.now, false, []string{"BenchmarkA"}, 1, 3, nil)
	p.Start()
	for range 3 {
		p.Line("BenchmarkA/x 1 5 ns/op")
		p.EndRound()
	}
	p.Finish(nil)
	got := out.String()
	for _, want := range []string{
		"[round 1/3, 1/1 A] A/x run 1/3",
		"[round 2/3, 1/1 A] A/x run 2/3",
		"[round 3/3, 1/1 A] A/x run 3/3",
		"[round 3/3, 1/1 A] done",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("progress lacks %q; got:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "done:"); n != 3 {
		t.Errorf("%d done lines, want one a round:\n%s", n, got)
	}
}
