package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
)

// Results are the benchmark results of one run, grouped for the report.
type Results struct {
	Machine Machine
	// Groups are in the order their first result appeared.
	Groups []*Group
	// Procs are the distinct GOMAXPROCS values of the results, ascending.
	Procs []int
	// Runs is the largest number of results of one variant (go test's
	// -count times the number of -cpu values that fall in its group).
	Runs int
	// Warnings say what could not be read or matched; the report goes on.
	Warnings []string
}

// A Group is the variants one benchmark compares: the sub-benchmarks whose
// names differ only in the variant element (see [Rule.VariantAt]).
type Group struct {
	// Name is the benchmark's name without "Benchmark" and without the
	// variant element, e.g. "Hit" or "Select/rows=1"; with more than one
	// GOMAXPROCS in the results, it ends in "-N".
	Name string
	// Bench is the top-level benchmark without "Benchmark", e.g. "Select".
	Bench string
	// Variants are in the order their first result appeared.
	Variants []*Variant
}

// Variant returns the group's variant of that name, or nil.
func (g *Group) Variant(name string) *Variant {
	for _, v := range g.Variants {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// Units returns the units any variant of the group reported, time/op
// first, then the benchmarks' own metrics in order of appearance, then
// B/op and allocs/op.
func (g *Group) Units() []string {
	var custom []string
	has := map[string]bool{}
	for _, v := range g.Variants {
		for _, m := range v.Metrics {
			if !has[m.Unit] {
				has[m.Unit] = true
				if !isStandardUnit(m.Unit) {
					custom = append(custom, m.Unit)
				}
			}
		}
	}
	var units []string
	for _, u := range []string{unitTime} {
		if has[u] {
			units = append(units, u)
		}
	}
	units = append(units, custom...)
	for _, u := range []string{unitBytes, unitAllocs} {
		if has[u] {
			units = append(units, u)
		}
	}
	return units
}

// CustomUnits returns the units of [Group.Units] that the testing package
// does not report itself (e.g. "cpu-ns/op").
func (g *Group) CustomUnits() []string {
	var custom []string
	for _, u := range g.Units() {
		if !isStandardUnit(u) {
			custom = append(custom, u)
		}
	}
	return custom
}

// A Variant is one sub-benchmark of a group with all its measurements.
type Variant struct {
	// Name is the variant element of the benchmark name, e.g. "otter".
	Name string
	// Full is the benchmark's full name as go test printed it the first
	// time, e.g. "BenchmarkHit/otter-2".
	Full string
	// Metrics are in the order go test printed them.
	Metrics []*Metric
	// Ours marks dogpile's own code, which the chart highlights.
	Ours bool
	// Ratios compare this variant with others of its group.
	Ratios []Ratio
}

// Metric returns the variant's measurements in that unit, or nil.
func (v *Variant) Metric(unit string) *Metric {
	for _, m := range v.Metrics {
		if m.Unit == unit {
			return m
		}
	}
	return nil
}

// Time returns the variant's time/op measurements, or nil.
func (v *Variant) Time() *Metric { return v.Metric(unitTime) }

// A Metric is the values of one unit over the runs of a variant.
type Metric struct {
	// Unit is as go test printed it: "ns/op", "B/op", "cpu-ns/op", ...
	Unit string
	// Values are in ascending order.
	Values []float64
}

// Median returns the median of the values.
func (m *Metric) Median() float64 {
	n := len(m.Values)
	switch {
	case n == 0:
		return math.NaN()
	case n%2 == 1:
		return m.Values[n/2]
	default:
		return (m.Values[n/2-1] + m.Values[n/2]) / 2
	}
}

// minCIRuns is the fewest values a 95% confidence interval of the median
// needs without assuming a distribution.
const minCIRuns = 6

// Interval returns the range that the "±" and the chart's whisker show.
// With minCIRuns values or more, it is the 95% confidence interval of the
// median that benchstat reports: it makes no assumption about the
// distribution, and on a shared machine one run slowed by other work does
// not widen it. With fewer values, too few for that, it is the smallest to
// the largest value (ci false).
func (m *Metric) Interval() (lo, hi float64, ci bool) {
	if len(m.Values) >= minCIRuns {
		s := benchmath.AssumeNothing.Summary(benchmath.NewSample(m.Values, &benchmath.DefaultThresholds), 0.95)
		if !math.IsInf(s.Lo, 0) && !math.IsInf(s.Hi, 0) {
			return s.Lo, s.Hi, true
		}
	}
	return m.Values[0], m.Values[len(m.Values)-1], false
}

// Spread returns the larger distance from the median to an end of
// [Metric.Interval], as a fraction of the median: the report's "±", as
// benchstat shows it.
func (m *Metric) Spread() float64 {
	med := m.Median()
	if len(m.Values) < 2 || med == 0 {
		return 0
	}
	lo, hi, _ := m.Interval()
	return math.Max(med-lo, hi-med) / math.Abs(med)
}

const (
	unitTime   = "ns/op"
	unitBytes  = "B/op"
	unitAllocs = "allocs/op"
)

func isStandardUnit(u string) bool {
	return u == unitTime || u == unitBytes || u == unitAllocs
}

// isTimeUnit reports whether values of the unit are nanoseconds, as
// "ns/op" and a benchmark's own "cpu-ns/op" are.
func isTimeUnit(u string) bool {
	return u == unitTime || strings.HasSuffix(u, "-ns/op")
}

// record is one result line, kept until all are read: a group's name
// depends on whether the results hold more than one GOMAXPROCS.
type record struct {
	full    string
	bench   string   // top-level name without "Benchmark"
	sub     []string // sub-benchmark elements, without their "/"
	procs   int      // 0 when the name has no -N suffix
	values  []benchfmt.Value
	file    string
	line    int
	cpuConf string // the "cpu:" configuration go test printed
}

// Parse reads go test -bench output (and the "# benchreport" lines
// [WriteRawHeader] adds) and groups the results by rules. Lines that are not
// benchmark results are ignored; a malformed result line becomes a warning.
func Parse(r io.Reader, fileName string, rules Rules) (*Results, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("benchreport: reading %s: %w", fileName, err)
	}
	res := &Results{Machine: parseRawHeader(data)}
	var recs []record
	br := benchfmt.NewReader(bytes.NewReader(data), fileName)
	for br.Scan() {
		switch rec := br.Result().(type) {
		case *benchfmt.SyntaxError:
			res.Warnings = append(res.Warnings, rec.Error()+"; line ignored")
		case *benchfmt.Result:
			recs = append(recs, newRecord(rec))
			if res.Machine.GOOS == "" {
				res.Machine.GOOS = rec.GetConfig("goos")
				res.Machine.GOARCH = rec.GetConfig("goarch")
			}
		}
	}
	if err := br.Err(); err != nil {
		return nil, fmt.Errorf("benchreport: reading %s: %w", fileName, err)
	}
	for _, rec := range recs {
		if res.Machine.CPU == "" {
			res.Machine.CPU = rec.cpuConf
		}
		if rec.procs != 0 && !slices.Contains(res.Procs, rec.procs) {
			res.Procs = append(res.Procs, rec.procs)
		}
	}
	slices.Sort(res.Procs)
	manyProcs := len(res.Procs) > 1
	byName := map[string]*Group{}
	for _, rec := range recs {
		rule := rules.For(rec.bench)
		groupName, variantName := split(rec, rule.VariantAt)
		if manyProcs {
			groupName += "-" + strconv.Itoa(rec.procs)
		}
		g := byName[groupName]
		if g == nil {
			g = &Group{Name: groupName, Bench: rec.bench}
			byName[groupName] = g
			res.Groups = append(res.Groups, g)
		}
		v := g.Variant(variantName)
		if v == nil {
			v = &Variant{Name: variantName, Full: rec.full, Ours: slices.Contains(rule.Ours, variantName)}
			g.Variants = append(g.Variants, v)
		}
		for _, val := range rec.values {
			unit, x := val.Unit, val.Value
			if val.OrigUnit != "" {
				// Keep go test's units (ns/op, not sec/op): they are what a
				// reader of benchmark output knows.
				unit, x = val.OrigUnit, val.OrigValue
			}
			m := v.Metric(unit)
			if m == nil {
				m = &Metric{Unit: unit}
				v.Metrics = append(v.Metrics, m)
			}
			m.Values = append(m.Values, x)
		}
	}
	for _, g := range res.Groups {
		for _, v := range g.Variants {
			for _, m := range v.Metrics {
				slices.Sort(m.Values)
			}
			if t := v.Time(); t != nil {
				res.Runs = max(res.Runs, len(t.Values))
			}
		}
	}
	res.Warnings = append(res.Warnings, rules.apply(res.Groups)...)
	return res, nil
}

func newRecord(r *benchfmt.Result) record {
	base, parts := r.Name.Parts()
	rec := record{
		full:    "Benchmark" + string(r.Name.Full()), // the reader drops "Benchmark"
		bench:   strings.TrimPrefix(string(base), "Benchmark"),
		cpuConf: r.GetConfig("cpu"),
	}
	rec.file, rec.line = r.Pos()
	for _, p := range parts {
		switch p[0] {
		case '/':
			rec.sub = append(rec.sub, string(p[1:]))
		case '-':
			rec.procs, _ = strconv.Atoi(string(p[1:]))
		}
	}
	rec.values = slices.Clone(r.Values)
	return rec
}

// split returns the group and variant names of a result: the variant is
// the sub-benchmark element at variantAt (see [Rule.VariantAt]), and the
// group is the rest. A benchmark without sub-benchmarks is a group of one,
// named after itself.
func split(rec record, variantAt int) (group, variant string) {
	if len(rec.sub) == 0 {
		return rec.bench, rec.bench
	}
	i := len(rec.sub) - 1
	if variantAt > 0 {
		i = min(variantAt-1, i)
	}
	rest := append([]string{rec.bench}, rec.sub[:i]...)
	rest = append(rest, rec.sub[i+1:]...)
	return strings.Join(rest, "/"), rec.sub[i]
}

// rawHeaderPrefix starts the lines that benchreport adds to go test's
// output. The benchmark format ignores them (a configuration key starts
// with a lower-case letter), so benchstat reads the file unchanged.
const rawHeaderPrefix = "# benchreport "

func parseRawHeader(data []byte) Machine {
	var m Machine
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), rawHeaderPrefix)
		if !ok {
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		m.set(strings.TrimSpace(key), strings.TrimSpace(val))
	}
	return m
}
