package main

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestBuiltinRatios(t *testing.T) {
	res := parseSample(t, builtinRules)
	tests := []struct {
		group, variant string
		want           string
	}{
		{"Hit", "region", "2.50× otter"},
		{"Hit", "sturdyc", "2.00× region"},
		{"Hit", "otter", ""},
		{"RedisHit", "region", "1.05× go-redis_GET+decode (cpu-ns/op 1.12×)"},
		{"RedisHit", "go-redis-cache", "1.43× region (cpu-ns/op 1.50×)"},
		{"Select/rows=1", "postgres_uncached", "100× cachedsql_hit"},
		{"Select/rows=1", "go-redis-cache_local_hit", "2.00× cachedsql_hit"},
		{"Select/rows=100", "postgres_uncached", "10.0× cachedsql_hit"},
		{"Serializer/one", "json", "3.00× default"},
		{"Serializer/one", "default", ""},
		{"Tiered/untagged", "redis&co", ""},
	}
	for _, tt := range tests {
		t.Run(tt.group+"/"+tt.variant, func(t *testing.T) {
			v := findGroup(t, res, tt.group).Variant(tt.variant)
			if got := fmtRatios(v); got != tt.want {
				t.Errorf("ratios %q, want %q", got, tt.want)
			}
		})
	}
	// Select/rows=100 has no go-redis/cache variant in the sample: a
	// warning, not a failure.
	found := false
	for _, w := range res.Warnings {
		found = found || strings.Contains(w, "Select/rows=100") && strings.Contains(w, "go-redis-cache_local_hit")
	}
	if !found {
		t.Errorf("no warning for the missing variant: %q", res.Warnings)
	}
}

func TestRatioFlag(t *testing.T) {
	o := options{builtin: true, ratios: []string{"BenchmarkTiered:*/memory", "Hit:otter/sturdyc"}}
	rules, err := o.rules()
	if err != nil {
		t.Fatal(err)
	}
	res := parseSample(t, rules)
	if got := fmtRatios(findGroup(t, res, "Tiered/untagged").Variant("redis&co")); got != "2.57× memory (cpu-ns/op 2.03×)" {
		t.Errorf("Tiered redis&co: %q", got)
	}
	if got := fmtRatios(findGroup(t, res, "Hit").Variant("otter")); got != "0.200× sturdyc" {
		t.Errorf("Hit otter: %q", got)
	}
	if got := fmtRatios(findGroup(t, res, "Hit").Variant("region")); got != "2.50× otter" {
		t.Errorf("the built-in ratio went: %q", got)
	}
	// The built-in table is not changed by a flag.
	if len(builtinRules.For("Hit").Ratios) != 2 {
		t.Errorf("builtinRules changed: %+v", builtinRules.For("Hit"))
	}
}

func TestNoBuiltin(t *testing.T) {
	res := parseSample(t, nil)
	for _, g := range res.Groups {
		for _, v := range g.Variants {
			if len(v.Ratios) > 0 || v.Ours {
				t.Errorf("%s/%s: ratios %v, ours %v without the built-in table", g.Name, v.Name, v.Ratios, v.Ours)
			}
		}
	}
	// Without the table, Serializer's variant is the last element.
	findGroup(t, res, "Serializer/json")
}

func TestParseRatioFlag(t *testing.T) {
	tests := []struct {
		in    string
		bench string
		spec  RatioSpec
		ok    bool
	}{
		{"Hit:region/otter", "Hit", RatioSpec{"region", "otter"}, true},
		{"BenchmarkTieredHit:*/redis", "TieredHit", RatioSpec{"*", "redis"}, true},
		{"Select:postgres_uncached/cachedsql_hit", "Select", RatioSpec{"postgres_uncached", "cachedsql_hit"}, true},
		{"region/otter", "", RatioSpec{}, false},
		{"Hit:region", "", RatioSpec{}, false},
		{"Hit:region/*", "", RatioSpec{}, false},
		{":a/b", "", RatioSpec{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			bench, spec, err := parseRatioFlag(tt.in)
			if tt.ok != (err == nil) {
				t.Fatalf("err = %v, want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, errBadRatio) {
				t.Errorf("err = %v, want errBadRatio", err)
			}
			if bench != tt.bench || spec != tt.spec {
				t.Errorf("got %q %v, want %q %v", bench, spec, tt.bench, tt.spec)
			}
		})
	}
}

func TestRatioValue(t *testing.T) {
	g := &Group{Name: "G", Variants: []*Variant{
		{Name: "a", Metrics: []*Metric{{Unit: unitTime, Values: []float64{30}}}},
		{Name: "b", Metrics: []*Metric{{Unit: unitTime, Values: []float64{10}}}},
	}}
	r, ok := ratio(g, g.Variants[0], g.Variants[1])
	if !ok || math.Abs(r.Time-3) > 1e-12 || r.Den != "b" {
		t.Errorf("ratio = %+v, %v", r, ok)
	}
}
