package main

import (
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func parseSample(t *testing.T, rules Rules) *Results {
	t.Helper()
	f, err := os.Open("testdata/sample.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := Parse(f, "testdata/sample.txt", rules)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestParseGroupsVariants(t *testing.T) {
	res := parseSample(t, builtinRules)
	var got []string
	for _, g := range res.Groups {
		var vs []string
		for _, v := range g.Variants {
			vs = append(vs, v.Name)
		}
		got = append(got, g.Name+": "+strings.Join(vs, ","))
	}
	want := []string{
		"Select/rows=1: cachedsql_hit,postgres_uncached,go-redis-cache_local_hit",
		"Select/rows=100: cachedsql_hit,postgres_uncached",
		"RedisHit: region,go-redis_GET+decode,go-redis-cache",
		"Hit: region,otter,sturdyc",
		"Serializer/one: json,default",
		"Tiered/untagged: memory,redis&co",
		"Plain: Plain",
	}
	if !slices.Equal(got, want) {
		t.Errorf("groups:\n got %q\nwant %q", got, want)
	}
	if !slices.Equal(res.Procs, []int{2}) || res.Runs != 3 {
		t.Errorf("Procs %v Runs %d, want [2] 3", res.Procs, res.Runs)
	}
}

func TestParseValues(t *testing.T) {
	res := parseSample(t, builtinRules)
	g := findGroup(t, res, "RedisHit")
	v := g.Variant("region")
	if !v.Ours || v.Full != "BenchmarkRedisHit/region-2" {
		t.Errorf("region: Ours %v Full %q", v.Ours, v.Full)
	}
	if got := v.Time().Values; !slices.Equal(got, []float64{40000, 42000, 44000}) {
		t.Errorf("ns/op values %v, want sorted 40000 42000 44000", got)
	}
	if got := v.Metric("cpu-ns/op").Median(); got != 28000 {
		t.Errorf("cpu-ns/op median %v, want 28000 (the unit as go test printed it)", got)
	}
	if got := g.Units(); !slices.Equal(got, []string{"ns/op", "cpu-ns/op", "B/op", "allocs/op"}) {
		t.Errorf("units %v", got)
	}
	if got := findGroup(t, res, "Plain").Variants[0].Metrics; len(got) != 1 {
		t.Errorf("Plain has %d metrics, want ns/op only", len(got))
	}
}

func TestParseMachine(t *testing.T) {
	res := parseSample(t, builtinRules)
	want := Machine{
		GOOS: "linux", GOARCH: "amd64", CPU: "Example CPU @ 2.00GHz", Cores: 2, Go: "go1.26.8",
		Date:      time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		LoadStart: "0.10 0.20 0.30", LoadEnd: "1.50 0.80 0.40",
		Command:  "go test -run '^$' -bench . -benchmem -count 3 -timeout 0s .",
		Elapsed:  2*time.Minute + 3*time.Second,
		OtherCPU: "0.05",
	}
	if res.Machine != want {
		t.Errorf("machine\n got %+v\nwant %+v", res.Machine, want)
	}
}

func TestParsePlainOutput(t *testing.T) {
	// Output that benchreport did not write: the machine comes from go
	// test's configuration lines, and the rest is unknown.
	in := "goos: darwin\ngoarch: arm64\ncpu: Apple M2\nBenchmarkHit/region-8 100 10 ns/op\n"
	res, err := Parse(strings.NewReader(in), "x", builtinRules)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Machine
	if m.GOOS != "darwin" || m.GOARCH != "arm64" || m.CPU != "Apple M2" || !m.Date.IsZero() || m.Cores != 0 {
		t.Errorf("machine %+v", m)
	}
	if got := m.When(); got != "date unknown" {
		t.Errorf("When() = %q", got)
	}
}

func TestParseWarnsOnBadLine(t *testing.T) {
	res := parseSample(t, builtinRules)
	found := false
	for _, w := range res.Warnings {
		found = found || strings.Contains(w, "sample.txt:60:")
	}
	if !found {
		t.Errorf("no warning for the malformed BenchmarkBroken line: %q", res.Warnings)
	}
}

func TestParseManyProcs(t *testing.T) {
	in := "BenchmarkHit/region-1 1 30 ns/op\nBenchmarkHit/otter-1 1 10 ns/op\nBenchmarkHit/region-2 1 20 ns/op\nBenchmarkHit/otter-2 1 8 ns/op\n"
	res, err := Parse(strings.NewReader(in), "x", builtinRules)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range res.Groups {
		names = append(names, g.Name)
	}
	if !slices.Equal(names, []string{"Hit-1", "Hit-2"}) {
		t.Errorf("groups %q, want one per GOMAXPROCS", names)
	}
	if r := res.Groups[1].Variant("region").Ratios; len(r) != 1 || r[0].Time != 2.5 {
		t.Errorf("Hit-2 region ratios %+v, want 2.5× otter", r)
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		name         string
		rec          record
		variantAt    int
		group, varnt string
	}{
		{"last", record{bench: "Hit", sub: []string{"otter"}}, 0, "Hit", "otter"},
		{"last of two", record{bench: "Select", sub: []string{"rows=1", "cachedsql_hit"}}, 0, "Select/rows=1", "cachedsql_hit"},
		{"first", record{bench: "Serializer", sub: []string{"json", "one"}}, 1, "Serializer/one", "json"},
		{"middle", record{bench: "X", sub: []string{"a", "b", "c"}}, 2, "X/a/c", "b"},
		{"past the end", record{bench: "X", sub: []string{"a"}}, 3, "X", "a"},
		{"no sub-benchmarks", record{bench: "Plain"}, 0, "Plain", "Plain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, v := split(tt.rec, tt.variantAt)
			if g != tt.group || v != tt.varnt {
				t.Errorf("split = %q, %q; want %q, %q", g, v, tt.group, tt.varnt)
			}
		})
	}
}

func TestMedianSpread(t *testing.T) {
	tests := []struct {
		name           string
		values         []float64
		median, spread float64
	}{
		{"one", []float64{10}, 10, 0},
		{"odd", []float64{9, 10, 12}, 10, 0.2},
		{"even", []float64{8, 10, 10, 12}, 10, 0.2},
		{"low outlier", []float64{5, 10, 10}, 10, 0.5},
		{"same", []float64{3, 3, 3}, 3, 0},
		// From six runs on, the confidence interval of the median: one
		// run slowed tenfold leaves it alone (here it spans the 2nd to the
		// 9th of 10 values).
		{"ten with an outlier", []float64{9, 9.5, 10, 10, 10, 10, 10, 10, 11, 100}, 10, 0.1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Metric{Unit: unitTime, Values: tt.values}
			if got := m.Median(); got != tt.median {
				t.Errorf("Median = %v, want %v", got, tt.median)
			}
			if got := m.Spread(); math.Abs(got-tt.spread) > 1e-12 {
				t.Errorf("Spread = %v, want %v", got, tt.spread)
			}
		})
	}
}

func TestBusy(t *testing.T) {
	tests := []struct {
		name string
		m    Machine
		want bool
	}{
		{"idle", Machine{Cores: 2, LoadStart: "0.10 0.2 0.3", OtherCPU: "0.05"}, false},
		{"others used half a core of two", Machine{Cores: 2, LoadStart: "0.10 0.2 0.3", OtherCPU: "0.50"}, true},
		{"loaded before, unknown during", Machine{Cores: 2, LoadStart: "3.10 2 1"}, true},
		{"light load before", Machine{Cores: 2, LoadStart: "0.50 2 1"}, false},
		{"unknown", Machine{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.Busy(); got != tt.want {
				t.Errorf("Busy() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOtherCPU(t *testing.T) {
	// Two cores, half busy over 10 s (one core's worth), of which our
	// processes used 6 s of CPU: others used 0.4 of a core.
	got := otherCPU(0, 0, 500, 1000, 2, 6*time.Second, 10*time.Second)
	if got != "0.40" {
		t.Errorf("otherCPU = %q, want 0.40", got)
	}
	if got := otherCPU(0, 0, 100, 1000, 2, 6*time.Second, 10*time.Second); got != "0.00" {
		t.Errorf("otherCPU with ours above the machine's = %q, want 0.00", got)
	}
}

func findGroup(t *testing.T, res *Results, name string) *Group {
	t.Helper()
	for _, g := range res.Groups {
		if g.Name == name {
			return g
		}
	}
	t.Fatalf("no group %q", name)
	return nil
}
