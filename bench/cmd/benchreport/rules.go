package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// A Rule says how to read the results of one top-level benchmark: which
// element of a sub-benchmark's name is the variant, which variants are
// dogpile's own, and which ratios to report.
type Rule struct {
	// Bench is the top-level benchmark without "Benchmark", e.g. "Hit".
	Bench string
	// VariantAt is the position (1 for the first) of the variant among
	// the sub-benchmark elements of a name. Zero, the default, means the
	// last, as in "Hit/otter" or "Select/rows=1/cachedsql_hit";
	// BenchmarkSerializer's names put the variant first ("json/one").
	VariantAt int
	// Ours are the variants that run dogpile's code; the chart highlights
	// them.
	Ours []string
	// Ratios are reported in every group of the benchmark that has both
	// variants.
	Ratios []RatioSpec
}

// A RatioSpec reports Num's median time/op divided by Den's, e.g.
// region/otter: "2.3× otter" on region's row says region takes 2.3 times
// otter's time. Num "*" stands for every variant but Den.
type RatioSpec struct {
	Num, Den string
}

func (s RatioSpec) String() string { return s.Num + "/" + s.Den }

// A Ratio is a [RatioSpec] worked out for one variant.
type Ratio struct {
	// Den is the variant this one is compared with.
	Den string
	// Time is the ratio of the medians of time/op.
	Time float64
	// Others are the ratios of the medians of the benchmarks' own time
	// metrics that both variants report (e.g. cpu-ns/op), by unit, in the
	// group's unit order.
	Others []UnitRatio
}

// A UnitRatio is the ratio of the medians of one unit.
type UnitRatio struct {
	Unit  string
	Value float64
}

// Rules are the rules for the benchmarks the report knows, by Bench.
type Rules []Rule

// builtinRules are the benchmarks of this module that the report knows:
// the baselines that make their ratios meaningful, and dogpile's own
// variants. A benchmark that is not here is grouped by the last element of
// its names and gets no ratio; -ratio adds some.
var builtinRules = Rules{
	{
		Bench:  "Hit",
		Ours:   []string{"region"},
		Ratios: []RatioSpec{{"region", "otter"}, {"sturdyc", "region"}},
	},
	{
		Bench:  "RedisHit",
		Ours:   []string{"region"},
		Ratios: []RatioSpec{{"region", "go-redis_GET+decode"}, {"go-redis-cache", "region"}},
	},
	{
		Bench:  "Select",
		Ours:   []string{"cachedsql_hit"},
		Ratios: []RatioSpec{{"postgres_uncached", "cachedsql_hit"}, {"go-redis-cache_local_hit", "cachedsql_hit"}},
	},
	{
		Bench:     "Serializer",
		VariantAt: 1,
		Ours:      []string{"default"},
		Ratios:    []RatioSpec{{"*", "default"}},
	},
}

// For returns the rule for a top-level benchmark; an unknown one gets the
// generic rule (variant last, no ratios).
func (rs Rules) For(bench string) Rule {
	for _, r := range rs {
		if r.Bench == bench {
			return r
		}
	}
	return Rule{Bench: bench}
}

// withRatio returns rs with spec added to bench's rule, which is created
// (generic) if rs has none.
func (rs Rules) withRatio(bench string, spec RatioSpec) Rules {
	out := slices.Clone(rs)
	for i := range out {
		if out[i].Bench == bench {
			out[i].Ratios = append(slices.Clone(out[i].Ratios), spec)
			return out
		}
	}
	r := rs.For(bench)
	r.Ratios = []RatioSpec{spec}
	return append(out, r)
}

// errBadRatio is wrapped by every -ratio parse error.
var errBadRatio = errors.New("benchreport: bad -ratio")

// parseRatioFlag parses -ratio's "Bench:num/den" (Bench without
// "Benchmark"; num may be "*").
func parseRatioFlag(s string) (bench string, spec RatioSpec, err error) {
	bench, pair, ok := strings.Cut(s, ":")
	bench = strings.TrimPrefix(bench, "Benchmark")
	num, den, ok2 := strings.Cut(pair, "/")
	if !ok || !ok2 || bench == "" || num == "" || den == "" || den == "*" {
		return "", RatioSpec{}, fmt.Errorf("%w %q: want Bench:num/den, e.g. Hit:region/otter or TieredHit:*/redis", errBadRatio, s)
	}
	return bench, RatioSpec{Num: num, Den: den}, nil
}

// apply works out every rule's ratios in the groups and returns a warning
// for each spec that names a variant a group of its benchmark lacks.
func (rs Rules) apply(groups []*Group) []string {
	var warnings []string
	for _, g := range groups {
		rule := rs.For(g.Bench)
		for _, spec := range rule.Ratios {
			den := g.Variant(spec.Den)
			if den == nil || den.Time() == nil {
				warnings = append(warnings, fmt.Sprintf("ratio %s:%s: group %s has no variant %q with ns/op; no ratio", g.Bench, spec, g.Name, spec.Den))
				continue
			}
			var nums []*Variant
			if spec.Num == "*" {
				for _, v := range g.Variants {
					if v != den {
						nums = append(nums, v)
					}
				}
			} else if v := g.Variant(spec.Num); v != nil {
				nums = append(nums, v)
			} else {
				warnings = append(warnings, fmt.Sprintf("ratio %s:%s: group %s has no variant %q; no ratio", g.Bench, spec, g.Name, spec.Num))
			}
			for _, num := range nums {
				if r, ok := ratio(g, num, den); ok {
					num.Ratios = append(num.Ratios, r)
				}
			}
		}
	}
	return warnings
}

func ratio(g *Group, num, den *Variant) (Ratio, bool) {
	nt, dt := num.Time(), den.Time()
	if nt == nil || dt == nil || dt.Median() == 0 {
		return Ratio{}, false
	}
	r := Ratio{Den: den.Name, Time: nt.Median() / dt.Median()}
	for _, u := range g.CustomUnits() {
		if !isTimeUnit(u) {
			continue
		}
		nm, dm := num.Metric(u), den.Metric(u)
		if nm != nil && dm != nil && dm.Median() != 0 {
			r.Others = append(r.Others, UnitRatio{Unit: u, Value: nm.Median() / dm.Median()})
		}
	}
	return r, true
}
