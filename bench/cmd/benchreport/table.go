package main

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// A table is one group's results as cells, rendered as aligned text for
// the terminal or as markdown.
type table struct {
	header []string
	right  []bool // right-align the column
	rows   [][]string
	ours   []bool // the row is dogpile's own variant
}

// groupTable lays out a group: one row per variant with the median of
// each unit, the spread of time/op (when there are runs to spread), and
// the ratios. A "runs" column shows only where a variant has fewer than
// runs results (a run cut short).
func groupTable(g *Group, runs int) table {
	units := g.Units()
	spread := runs > 1
	uneven := false
	for _, v := range g.Variants {
		uneven = uneven || variantRuns(v) != runs
	}
	t := table{header: []string{"variant"}, right: []bool{false}}
	for _, u := range units {
		name := u
		if u == unitTime {
			name = "time/op"
		}
		t.header = append(t.header, name)
		t.right = append(t.right, true)
		if u == unitTime && spread {
			t.header = append(t.header, "±")
			t.right = append(t.right, true)
		}
	}
	if uneven {
		t.header = append(t.header, "runs")
		t.right = append(t.right, true)
	}
	t.header = append(t.header, "ratio")
	t.right = append(t.right, false)
	for _, v := range g.Variants {
		row := []string{v.Name}
		for _, u := range units {
			m := v.Metric(u)
			if m == nil {
				row = append(row, "")
				if u == unitTime && spread {
					row = append(row, "")
				}
				continue
			}
			row = append(row, fmtValue(u, m.Median()))
			if u == unitTime && spread {
				row = append(row, fmtSpread(m))
			}
		}
		if uneven {
			row = append(row, fmt.Sprint(variantRuns(v)))
		}
		row = append(row, fmtRatios(v))
		t.rows = append(t.rows, row)
		t.ours = append(t.ours, v.Ours)
	}
	return t
}

// writeText writes t with columns padded to line up, indented by indent.
func (t table) writeText(w io.Writer, indent string) error {
	widths := make([]int, len(t.header))
	for _, row := range append([][]string{t.header}, t.rows...) {
		for i, c := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	var out, b strings.Builder
	for _, row := range append([][]string{t.header}, t.rows...) {
		b.WriteString(indent)
		for i, c := range row {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString("  ")
			}
			if t.right[i] {
				b.WriteString(pad + c)
			} else if i < len(row)-1 {
				b.WriteString(c + pad)
			} else {
				b.WriteString(c)
			}
		}
		trimmed := strings.TrimRight(b.String(), " ")
		b.Reset()
		b.WriteString(trimmed + "\n")
		out.WriteString(b.String())
		b.Reset()
	}
	_, err := io.WriteString(w, out.String())
	return err
}

// variantRuns returns the number of results of v.
func variantRuns(v *Variant) int {
	n := 0
	for _, m := range v.Metrics {
		n = max(n, len(m.Values))
	}
	return n
}

// writeMarkdown writes t as a markdown table; dogpile's own variants are
// in bold.
func (t table) writeMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("|")
	for _, h := range t.header {
		b.WriteString(" " + mdEscape(h) + " |")
	}
	b.WriteString("\n|")
	for _, r := range t.right {
		if r {
			b.WriteString(" --: |")
		} else {
			b.WriteString(" :-- |")
		}
	}
	b.WriteString("\n")
	for j, row := range t.rows {
		b.WriteString("|")
		for i, c := range row {
			switch {
			case c == "":
			case i == 0 && t.ours[j]:
				c = "**`" + c + "`**"
			case i == 0:
				c = "`" + c + "`"
			default:
				c = mdEscape(c)
			}
			b.WriteString(" " + c + " |")
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdEscape escapes what would end a cell or start emphasis.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "*", `\*`, "_", `\_`, "<", "&lt;").Replace(s)
}

// legend explains the figures of the tables and the chart.
func legend(res *Results) string {
	s := "Figures are medians"
	switch {
	case res.Runs >= minCIRuns:
		s += fmt.Sprintf(" of %d runs; ± is the 95%% confidence interval of the median, as benchstat computes it (for a variant with fewer than %d runs: the farthest run)", res.Runs, minCIRuns)
	case res.Runs > 1:
		s += fmt.Sprintf(" of %d runs; ± is the distance from the median to the farthest run (%d or more runs would give a confidence interval)", res.Runs, minCIRuns)
	}
	s += ". “N× X” is this variant's median time/op divided by X's (above 1: slower than X)."
	if len(res.Procs) == 1 {
		s += fmt.Sprintf(" GOMAXPROCS %d.", res.Procs[0])
	}
	return s
}

// WriteSummary writes the results as text tables, one per group, for the
// terminal.
func WriteSummary(w io.Writer, res *Results) error {
	fmt.Fprintf(w, "\n%s\n%s\n", res.Machine.Describe(), res.Machine.When())
	if res.Machine.Busy() {
		fmt.Fprintln(w, busyWarning())
	}
	fmt.Fprintln(w, legend(res))
	for _, g := range res.Groups {
		fmt.Fprintf(w, "\n%s\n", g.Name)
		if err := groupTable(g, res.Runs).writeText(w, "  "); err != nil {
			return err
		}
	}
	return nil
}

func busyWarning() string {
	return "Warning: other processes competed with the benchmarks for the CPU, so the figures are noisier than on an idle machine; differences within the ± spread are noise."
}

// WriteMarkdown writes the results as a markdown page: the machine, the
// command, the chart, and one table per group.
func WriteMarkdown(w io.Writer, res *Results, chart string) error {
	var b strings.Builder
	b.WriteString("# Benchmark results\n\n")
	b.WriteString("<!-- Generated by `go run ./cmd/benchreport` in bench/; do not edit. -->\n\n")
	fmt.Fprintf(&b, "Measured on %s, %s.\n", res.Machine.Describe(), res.Machine.When())
	if res.Machine.Busy() {
		fmt.Fprintf(&b, "\n> %s\n", busyWarning())
	}
	if res.Machine.Command != "" {
		fmt.Fprintf(&b, "\nCommand, in bench/: `%s`", res.Machine.Command)
		if res.Machine.Rounds > 1 {
			fmt.Fprintf(&b, ", run %d times in turn (-rounds %d) so that other work on the machine spreads over every variant", res.Machine.Rounds, res.Machine.Rounds)
		}
		b.WriteString(".\n")
	}
	b.WriteString("\n" + legend(res) + " The raw `go test` output is in [raw.txt](raw.txt); `benchstat raw.txt` re-checks it.\n")
	if chart != "" {
		fmt.Fprintf(&b, "\n![Benchmark chart](%s)\n", chart)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	for _, g := range res.Groups {
		if _, err := fmt.Fprintf(w, "\n## %s\n\n", mdEscape(g.Name)); err != nil {
			return err
		}
		if err := groupTable(g, res.Runs).writeMarkdown(w); err != nil {
			return err
		}
	}
	return nil
}
