package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// The chart's look. Sizes are in SVG user units (pixels at 100%).
const (
	chartFont     = "DejaVu Sans, Helvetica, Arial, sans-serif"
	chartMargin   = 24
	chartBarArea  = 420 // width of the bars' area
	chartBarH     = 14
	chartCPUBarH  = 5
	chartGap      = 26 // between panels
	colourOurs    = "#e8730c"
	colourOthers  = "#5b7fa6"
	colourCPU     = "#1f2d3d"
	colourText    = "#222"
	colourMuted   = "#666"
	colourGrid    = "#e4e4e4"
	colourWarning = "#a32020"
	colourRatio   = "#2a5d8f"
)

// textWidth estimates the width of s in a sans-serif font of that size:
// SVG has no text metrics, and an estimate on the wide side keeps columns
// apart.
func textWidth(s string, size float64) float64 {
	return float64(len([]rune(s))) * size * 0.6
}

// scale maps a value to a bar length in [0, chartBarArea].
type scale struct {
	log    bool
	lo, hi float64
}

// newScale fits values (all positive where log applies): a log scale when
// they span more than 20×, so a 10 ns hit and a 100 µs query both show;
// else linear from zero, so lengths compare directly.
func newScale(values []float64) scale {
	lo, hi := math.Inf(1), 0.0
	for _, v := range values {
		if v > 0 {
			lo = math.Min(lo, v)
		}
		hi = math.Max(hi, v)
	}
	if hi <= 0 {
		return scale{lo: 0, hi: 1}
	}
	if hi/lo > 20 {
		// A bar at the lowest value still shows: start the axis at least
		// 0.3 decades below it.
		return scale{log: true, lo: math.Pow(10, math.Floor(math.Log10(lo)-0.3)), hi: math.Pow(10, math.Ceil(math.Log10(hi)))}
	}
	step := niceStep(hi / 4)
	return scale{lo: 0, hi: math.Ceil(hi*1.02/step) * step}
}

// niceStep returns the 1, 2 or 5 times a power of ten nearest above x.
func niceStep(x float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}

func (s scale) at(v float64) float64 {
	var f float64
	if s.log {
		if v <= s.lo {
			return 0
		}
		f = math.Log10(v/s.lo) / math.Log10(s.hi/s.lo)
	} else {
		f = (v - s.lo) / (s.hi - s.lo)
	}
	return math.Max(0, math.Min(1, f)) * chartBarArea
}

func (s scale) ticks() []float64 {
	var ts []float64
	if s.log {
		for t := s.lo; t <= s.hi*1.0001; t *= 10 {
			ts = append(ts, t)
		}
		return ts
	}
	step := niceStep(s.hi / 4)
	for t := 0.0; t <= s.hi*1.0001; t += step {
		ts = append(ts, t)
	}
	return ts
}

// fmtTick formats an axis tick: "20 µs", not "20.0 µs".
func fmtTick(ns float64) string {
	s := fmtTime(ns)
	num, unit, _ := strings.Cut(s, " ")
	if strings.Contains(num, ".") {
		num = strings.TrimRight(strings.TrimRight(num, "0"), ".")
	}
	return num + " " + unit
}

// svg accumulates the chart's elements.
type svg struct {
	b bytes.Buffer
}

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func (c *svg) printf(format string, args ...any) { fmt.Fprintf(&c.b, format, args...) }

// text writes a text element; body is already-escaped markup (tspans).
func (c *svg) text(x, y float64, size float64, attrs, body string) {
	c.printf(`<text x="%.1f" y="%.1f" font-size="%g"%s>%s</text>`+"\n", x, y, size, attrs, body)
}

func (c *svg) rect(x, y, w, h float64, fill, extra string) {
	c.printf(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"%s/>`+"\n", x, y, w, h, fill, extra)
}

func (c *svg) line(x1, y1, x2, y2 float64, stroke string, width float64) {
	c.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%g"/>`+"\n", x1, y1, x2, y2, stroke, width)
}

// rowText is what the chart writes right of a variant's bar.
type rowText struct {
	value, spread, ratios string // line 1
	details               string // line 2
}

func variantText(res *Results, g *Group, v *Variant) rowText {
	var t rowText
	if m := v.Time(); m != nil {
		t.value = fmtTime(m.Median())
		t.spread = fmtSpread(m)
	}
	t.ratios = fmtRatios(v)
	var details []string
	for _, u := range g.Units() {
		m := v.Metric(u)
		if u == unitTime || m == nil {
			continue
		}
		switch {
		case u == unitBytes:
			details = append(details, fmtBytes(m.Median())+"/op")
		case u == unitAllocs:
			details = append(details, fmtNumber(m.Median())+" allocs/op")
		case isTimeUnit(u):
			// "cpu-ns/op" reads "cpu 27.8 µs/op".
			details = append(details, strings.TrimSuffix(u, "-ns/op")+" "+fmtTime(m.Median())+"/op")
		default:
			details = append(details, u+" "+fmtNumber(m.Median()))
		}
	}
	if n := variantRuns(v); n != res.Runs {
		// A run cut short: the legend's count does not hold here.
		details = append(details, plural(n, "run"))
	}
	t.details = strings.Join(details, " · ")
	return t
}

// WriteSVG draws the results: a panel per group with a horizontal bar per
// variant (median time/op, a whisker over the runs' range, a thin bar for
// each of the benchmark's own time metrics), the values and ratios beside
// it, and the machine and date on top.
func WriteSVG(w io.Writer, res *Results) error {
	// Column widths from the longest texts.
	nameW, textW := 100.0, 300.0
	for _, g := range res.Groups {
		for _, v := range g.Variants {
			nameW = math.Max(nameW, textWidth(v.Name, 12)+4)
			t := variantText(res, g, v)
			textW = math.Max(textW, textWidth(t.value+" "+t.spread+"  "+t.ratios, 12))
			textW = math.Max(textW, textWidth(t.details, 11))
		}
	}
	barX := chartMargin + nameW + 10
	textX := barX + chartBarArea + 14
	width := math.Ceil(textX + textW + chartMargin)

	var body svg
	y := float64(chartMargin)
	type headerLine struct {
		size        float64
		attrs, text string
	}
	header := []headerLine{
		{18, ` font-weight="bold"`, "dogpile for Go: benchmarks"},
		{12, ` fill="` + colourMuted + `"`, res.Machine.Describe()},
		{12, ` fill="` + colourMuted + `"`, res.Machine.When()},
	}
	if res.Machine.Busy() {
		header = append(header, headerLine{12, ` fill="` + colourWarning + `"`, busyWarning()})
	}
	for i, h := range header {
		if i == 0 {
			y += h.size
		} else {
			y += h.size + 6
		}
		body.text(chartMargin, y, h.size, h.attrs, esc(h.text))
		width = math.Max(width, math.Ceil(chartMargin*2+textWidth(h.text, h.size)))
	}

	// Legend: what the marks mean.
	y += 22
	lx := float64(chartMargin)
	swatch := func(draw func(x float64), label string) {
		tx := lx
		if draw != nil {
			draw(lx)
			tx += 22
		}
		body.text(tx, y, 11, ` fill="`+colourMuted+`"`, esc(label))
		lx = tx + textWidth(label, 11) + 16
	}
	anyOurs := false
	for _, g := range res.Groups {
		for _, v := range g.Variants {
			anyOurs = anyOurs || v.Ours
		}
	}
	runs := "median time/op"
	if res.Runs > 1 {
		runs = fmt.Sprintf("median time/op of %d runs", res.Runs)
	}
	if anyOurs {
		swatch(func(x float64) { body.rect(x, y-10, 16, 10, colourOurs, "") }, "dogpile, "+runs)
		swatch(func(x float64) { body.rect(x, y-10, 16, 10, colourOthers, "") }, "others")
	} else {
		swatch(func(x float64) { body.rect(x, y-10, 16, 10, colourOthers, "") }, runs)
	}
	if res.Runs > 1 {
		whisker := "fastest to slowest run"
		if res.Runs >= minCIRuns {
			whisker = "95% confidence interval"
		}
		swatch(func(x float64) {
			body.line(x, y-5, x+16, y-5, colourText, 1)
			body.line(x, y-8, x, y-2, colourText, 1)
			body.line(x+16, y-8, x+16, y-2, colourText, 1)
		}, whisker)
	}
	var ownTimes []string
	for _, g := range res.Groups {
		for _, u := range g.CustomUnits() {
			if isTimeUnit(u) && !slices.Contains(ownTimes, u) {
				ownTimes = append(ownTimes, u)
			}
		}
	}
	if len(ownTimes) > 0 {
		swatch(func(x float64) { body.rect(x, y-7, 16, chartCPUBarH, colourCPU, ` fill-opacity="0.8"`) }, "median "+strings.Join(ownTimes, ", "))
	}
	swatch(nil, "N× X: time/op ÷ X's")
	width = math.Max(width, math.Ceil(lx+chartMargin))

	for _, g := range res.Groups {
		y += chartGap
		y = drawGroup(&body, res, g, y, barX, textX)
	}
	height := math.Ceil(y + chartMargin)

	_, err := fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="%s" fill="%s">`+"\n"+
		`<rect width="100%%" height="100%%" fill="#fff"/>`+"\n%s</svg>\n",
		width, height, width, height, chartFont, colourText, body.b.String())
	return err
}

// drawGroup draws one group's panel with its top at y and returns its
// bottom.
func drawGroup(c *svg, res *Results, g *Group, y, barX, textX float64) float64 {
	var values []float64
	var cpuUnits []string
	for _, u := range g.CustomUnits() {
		if isTimeUnit(u) {
			cpuUnits = append(cpuUnits, u)
		}
	}
	for _, v := range g.Variants {
		if m := v.Time(); m != nil {
			lo, hi, _ := m.Interval()
			values = append(values, m.Median(), lo, hi)
		}
		for _, u := range cpuUnits {
			if m := v.Metric(u); m != nil {
				values = append(values, m.Median())
			}
		}
	}
	sc := newScale(values)
	rowH := 34.0
	if len(cpuUnits) > 0 {
		rowH += float64(len(cpuUnits)) * (chartCPUBarH + 2)
	}

	y += 14
	c.text(chartMargin, y, 14, ` font-weight="bold"`, esc(g.Name))
	note := "time/op, linear scale"
	if sc.log {
		note = "time/op, log scale"
	}
	c.text(barX+chartBarArea, y, 11, ` fill="`+colourMuted+`" text-anchor="end"`, esc(note))
	top := y + 8
	bottom := top + rowH*float64(len(g.Variants))

	// Grid behind the bars.
	ticks := sc.ticks()
	for _, t := range ticks {
		x := barX + sc.at(t)
		c.line(x, top, x, bottom, colourGrid, 1)
	}

	for i, v := range g.Variants {
		rowTop := top + rowH*float64(i)
		barY := rowTop + 6
		mid := barY + chartBarH/2
		weight := ""
		if v.Ours {
			weight = ` font-weight="bold"`
		}
		c.text(barX-8, mid+4, 12, ` text-anchor="end"`+weight, esc(v.Name))
		fill := colourOthers
		if v.Ours {
			fill = colourOurs
		}
		if m := v.Time(); m != nil {
			c.rect(barX, barY, math.Max(sc.at(m.Median()), 1), chartBarH, fill, "")
			if len(m.Values) > 1 {
				lo, hi, _ := m.Interval()
				x1, x2 := barX+sc.at(lo), barX+sc.at(hi)
				c.line(x1, mid, x2, mid, colourText, 1)
				c.line(x1, mid-3, x1, mid+3, colourText, 1)
				c.line(x2, mid-3, x2, mid+3, colourText, 1)
			}
		}
		for j, u := range cpuUnits {
			if m := v.Metric(u); m != nil {
				cy := barY + chartBarH + 2 + float64(j)*(chartCPUBarH+2)
				c.rect(barX, cy, math.Max(sc.at(m.Median()), 1), chartCPUBarH, colourCPU, ` fill-opacity="0.8"`)
			}
		}
		t := variantText(res, g, v)
		line1 := `<tspan font-weight="bold">` + esc(t.value) + `</tspan>`
		if t.spread != "" {
			line1 += ` <tspan fill="` + colourMuted + `">` + esc(t.spread) + `</tspan>`
		}
		if t.ratios != "" {
			line1 += `<tspan dx="10" fill="` + colourRatio + `">` + esc(t.ratios) + `</tspan>`
		}
		c.text(textX, mid+4, 12, "", line1)
		if t.details != "" {
			c.text(textX, mid+19, 11, ` fill="`+colourMuted+`"`, esc(t.details))
		}
	}

	// Axis under the rows.
	c.line(barX, bottom, barX+chartBarArea, bottom, colourMuted, 1)
	for _, t := range ticks {
		x := barX + sc.at(t)
		c.line(x, bottom, x, bottom+4, colourMuted, 1)
		c.text(x, bottom+16, 10, ` fill="`+colourMuted+`" text-anchor="middle"`, esc(fmtTick(t)))
	}
	return bottom + 16
}
