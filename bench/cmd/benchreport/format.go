package main

import (
	"math"
	"strconv"
	"strings"
)

// sig3 formats x with three significant digits and no exponent: 16.5,
// 41.0, 600, 1.23.
func sig3(x float64) string {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return strconv.FormatFloat(x, 'f', 0, 64)
	}
	digits := 2 - int(math.Floor(math.Log10(math.Abs(x))))
	if digits <= 0 {
		return strconv.FormatFloat(math.Round(x), 'f', 0, 64)
	}
	s := strconv.FormatFloat(x, 'f', digits, 64)
	// Rounding can add a digit (9.996 → "10.00"); keep three.
	if d := 2 - int(math.Floor(math.Log10(math.Abs(mustParse(s))))); d < digits {
		s = strconv.FormatFloat(x, 'f', max(d, 0), 64)
	}
	return s
}

func mustParse(s string) float64 {
	x, _ := strconv.ParseFloat(s, 64)
	return x
}

// fmtTime formats nanoseconds with a unit: "16.5 ns", "7.21 µs", "600 µs",
// "1.20 ms".
func fmtTime(ns float64) string {
	switch a := math.Abs(ns); {
	case a < 1e3:
		return sig3(ns) + " ns"
	case a < 1e6:
		return sig3(ns/1e3) + " µs"
	case a < 1e9:
		return sig3(ns/1e6) + " ms"
	default:
		return sig3(ns/1e9) + " s"
	}
}

// fmtBytes formats a byte count: "0 B", "1217 B", "165 KiB".
func fmtBytes(b float64) string {
	switch a := math.Abs(b); {
	case a < 10000:
		return strconv.FormatFloat(math.Round(b), 'f', 0, 64) + " B"
	case a < 1<<20*10:
		return sig3(b/(1<<10)) + " KiB"
	default:
		return sig3(b/(1<<20)) + " MiB"
	}
}

// fmtNumber formats a count or another plain value: integers as they are,
// up to a million; anything else with three significant digits.
func fmtNumber(x float64) string {
	if x == math.Trunc(x) && math.Abs(x) < 1e6 {
		return strconv.FormatFloat(x, 'f', 0, 64)
	}
	switch a := math.Abs(x); {
	case a >= 1e9:
		return sig3(x/1e9) + "G"
	case a >= 1e6:
		return sig3(x/1e6) + "M"
	}
	return sig3(x)
}

// fmtValue formats a median in its unit, without the unit's "/op".
func fmtValue(unit string, x float64) string {
	switch {
	case isTimeUnit(unit):
		return fmtTime(x)
	case unit == unitBytes:
		return fmtBytes(x)
	default:
		return fmtNumber(x)
	}
}

// fmtSpread formats a [Metric.Spread]: "±2%", "±0.4%", or "" for none.
func fmtSpread(m *Metric) string {
	if len(m.Values) < 2 {
		return ""
	}
	pct := m.Spread() * 100
	if pct == 0 {
		return "±0%"
	}
	if pct < 1 {
		return "±" + strconv.FormatFloat(pct, 'f', 1, 64) + "%"
	}
	return "±" + strconv.FormatFloat(pct, 'f', 0, 64) + "%"
}

// fmtFactor formats a ratio: "2.31×", "183×", "0.452×".
func fmtFactor(x float64) string { return sig3(x) + "×" }

// fmtRatios formats a variant's ratios: "2.31× otter" or, with the
// benchmark's own time metrics, "1.05× go-redis_GET+decode (cpu-ns/op
// 1.03×)"; several are joined by "; ".
func fmtRatios(v *Variant) string {
	var parts []string
	for _, r := range v.Ratios {
		s := fmtFactor(r.Time) + " " + r.Den
		var others []string
		for _, o := range r.Others {
			others = append(others, o.Unit+" "+fmtFactor(o.Value))
		}
		if len(others) > 0 {
			s += " (" + strings.Join(others, ", ") + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}
