package main

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"
)

// svgText decodes an SVG, failing the test if it is not well-formed XML,
// and returns its text content, one element's text per line.
func svgText(t *testing.T, data []byte) string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(data))
	var text strings.Builder
	root := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Space + " " + tok.Name.Local
			}
			if tok.Name.Local == "text" {
				text.WriteString("\n")
			}
		case xml.CharData:
			text.Write(tok)
		}
	}
	if root != "http://www.w3.org/2000/svg svg" {
		t.Errorf("root element %q, want svg in the SVG namespace", root)
	}
	return text.String()
}

func TestSVG(t *testing.T) {
	res := parseSample(t, builtinRules)
	var b bytes.Buffer
	if err := WriteSVG(&b, res); err != nil {
		t.Fatal(err)
	}
	text := svgText(t, b.Bytes())
	lines := map[string]bool{}
	for _, l := range strings.Split(text, "\n") {
		lines[l] = true
	}
	for _, g := range res.Groups {
		if !lines[g.Name] {
			t.Errorf("no title %q", g.Name)
		}
		for _, v := range g.Variants {
			if !lines[v.Name] {
				t.Errorf("group %s: no label %q", g.Name, v.Name)
			}
		}
	}
	for _, want := range []string{
		"linux/amd64 · Example CPU @ 2.00GHz · 2 cores · go1.26.8",
		"2026-01-02 03:04 UTC",
		"2.50× otter",
		"100× cachedsql_hit",
		"time/op, log scale",    // Select/rows=1: 900 ns to 120 µs
		"time/op, linear scale", // Hit
		"cpu 28.0 µs/op · 1217 B/op · 26 allocs/op",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the chart lacks %q", want)
		}
	}
}

func TestSVGEmptyAndOdd(t *testing.T) {
	// A variant without time/op, and names that need escaping.
	res := &Results{Groups: []*Group{{Name: "A<B>", Bench: "A", Variants: []*Variant{
		{Name: `x"&'y`, Metrics: []*Metric{{Unit: "bytes", Values: []float64{3}}}},
		{Name: "zero", Metrics: []*Metric{{Unit: unitTime, Values: []float64{0}}}},
	}}}}
	var b bytes.Buffer
	if err := WriteSVG(&b, res); err != nil {
		t.Fatal(err)
	}
	text := svgText(t, b.Bytes())
	for _, want := range []string{"A<B>", `x"&'y`, "machine unknown"} {
		if !strings.Contains(text, want) {
			t.Errorf("the chart lacks %q", want)
		}
	}
	if bytes.Contains(b.Bytes(), []byte("NaN")) || bytes.Contains(b.Bytes(), []byte("Inf")) {
		t.Errorf("the chart has NaN or Inf coordinates:\n%s", b.String())
	}
}

func TestScale(t *testing.T) {
	tests := []struct {
		name   string
		values []float64
		log    bool
		lo, hi float64
	}{
		{"close values: linear from zero", []float64{16, 40, 80}, false, 0, 100},
		{"orders of magnitude: log", []float64{900, 120000}, true, 100, 1e6},
		{"low value on a decade starts a decade lower", []float64{1000, 100000}, true, 100, 1e5},
		{"nothing", nil, false, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScale(tt.values)
			if s.log != tt.log || s.lo != tt.lo || s.hi != tt.hi {
				t.Errorf("scale %+v, want log %v [%v, %v]", s, tt.log, tt.lo, tt.hi)
			}
			for _, v := range tt.values {
				if x := s.at(v); x <= 0 || x > chartBarArea || math.IsNaN(x) {
					t.Errorf("at(%v) = %v, want a visible bar within the area", v, x)
				}
			}
			ticks := s.ticks()
			if len(ticks) < 2 || ticks[0] != s.lo || math.Abs(ticks[len(ticks)-1]-s.hi) > s.hi*1e-9 {
				t.Errorf("ticks %v do not span [%v, %v]", ticks, s.lo, s.hi)
			}
		})
	}
}
