package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The files benchreport writes into -out.
const (
	fileChart    = "results.svg"
	fileMarkdown = "results.md"
	fileRaw      = "raw.txt"
)

// options are the command's flags.
type options struct {
	bench     string
	count     int
	rounds    int
	benchtime string
	cpu       string
	timeout   time.Duration
	in        string
	out       string
	outSet    bool
	builtin   bool
	ratios    []string
}

type ratioFlags []string

func (r *ratioFlags) String() string     { return strings.Join(*r, ",") }
func (r *ratioFlags) Set(s string) error { *r = append(*r, s); return nil }

const usageText = `usage: go run ./cmd/benchreport [flags]    (in bench/)

Runs the bench module's benchmarks with
	go test -run '^$' -bench PATTERN -benchmem -count N [-benchtime D] [-cpu LIST]
(-rounds times over), reporting progress on stderr as it goes. Then it
prints a summary table (the median of each variant's runs, its spread,
B/op, allocs/op, the benchmark's own metrics, and ratios to baseline
variants) and writes to -out:
	results.svg  a chart: bars per benchmark group, log scale where the
	             values span orders of magnitude
	results.md   the tables as markdown, with the machine and date
	raw.txt      go test's output, for benchstat
With -in it reads an earlier go test -bench output instead of running.

Ratios: a built-in table knows the baselines of Hit, RedisHit, Select and
Serializer; other benchmarks get none unless -ratio names them.

Flags:
`

func parseFlags(args []string, stderr io.Writer) (options, error) {
	o := options{}
	var ratios ratioFlags
	fs := flag.NewFlagSet("benchreport", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.bench, "bench", ".", "run the benchmarks that match this `regexp` (go test -bench)")
	fs.IntVar(&o.count, "count", 5, "run each benchmark `n` times (go test -count)")
	fs.IntVar(&o.rounds, "rounds", 1, "run go test `r` times in turn, each with -count n, so that a slow spell of a shared machine spreads over every variant instead of falling on one; each variant gets n×r results")
	fs.StringVar(&o.benchtime, "benchtime", "", "run each benchmark for `d` (go test -benchtime: 2s, 100x); default go test's 1s")
	fs.StringVar(&o.cpu, "cpu", "", "GOMAXPROCS `list` to run with (go test -cpu); default go test's, the core count")
	fs.DurationVar(&o.timeout, "timeout", 0, "end go test after `d` (go test -timeout); 0, the default, means no limit")
	fs.StringVar(&o.in, "in", "", "read go test -bench output from `file` instead of running the benchmarks")
	fs.StringVar(&o.out, "out", "", "write results.svg, results.md and raw.txt to `dir`; default ../docs/benchmarks from the bench module; \"-\" writes nothing")
	fs.BoolVar(&o.builtin, "builtin", true, "use the built-in table of baselines and dogpile's own variants")
	fs.Var(&ratios, "ratio", "also report `Bench:num/den`, num's time/op over den's in each group of Bench (num * for every variant but den); repeatable")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageText)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return o, fmt.Errorf("benchreport: unexpected arguments %q", fs.Args())
	}
	if o.count < 1 {
		return o, fmt.Errorf("benchreport: -count %d: want 1 or more", o.count)
	}
	if o.rounds < 1 {
		return o, fmt.Errorf("benchreport: -rounds %d: want 1 or more", o.rounds)
	}
	fs.Visit(func(f *flag.Flag) { o.outSet = o.outSet || f.Name == "out" })
	o.ratios = ratios
	return o, nil
}

// rules returns the rules the options ask for.
func (o options) rules() (Rules, error) {
	var rs Rules
	if o.builtin {
		rs = builtinRules
	}
	for _, s := range o.ratios {
		bench, spec, err := parseRatioFlag(s)
		if err != nil {
			return nil, err
		}
		rs = rs.withRatio(bench, spec)
	}
	return rs, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, isTerminal(os.Stderr))
	stop()
	os.Exit(code)
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// run is the command; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, tty bool) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	rules, err := o.rules()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	var modDir string
	if o.in == "" || !o.outSet {
		if modDir, err = moduleDir(ctx); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	outDir := o.out
	if !o.outSet {
		outDir = filepath.Join(modDir, "..", "docs", "benchmarks")
	}
	if outDir == "-" {
		outDir = ""
	}

	var raw []byte
	rawName := o.in
	if o.in != "" {
		if raw, err = os.ReadFile(o.in); err != nil {
			fmt.Fprintf(stderr, "benchreport: %v\n", err)
			return 1
		}
	} else {
		var hints map[string]int
		if outDir != "" && topLevelPattern(o.bench) == o.bench {
			// The last run's sub-benchmark counts, unless the pattern
			// picks sub-benchmarks and they would overstate.
			hints = hintsFrom(filepath.Join(outDir, fileRaw))
		}
		raw, rawName, err = runAndRecord(ctx, o, modDir, stderr, tty, hints)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}

	res, err := Parse(bytes.NewReader(raw), rawName, rules)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(stderr, "benchreport: warning: %s\n", w)
	}
	if len(res.Groups) == 0 {
		fmt.Fprintf(stderr, "benchreport: no benchmark results in %s\n", rawName)
		return 1
	}
	if err := WriteSummary(stdout, res); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if outDir == "" {
		return 0
	}
	if err := writeOutputs(outDir, res, raw, o.in); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stderr, "benchreport: wrote %s, %s and %s in %s\n", fileChart, fileMarkdown, fileRaw, outDir)
	return 0
}

// runAndRecord lists and runs the benchmarks, recording go test's output
// with the machine's description around it. On failure the output so far
// stays in a temporary file that the error names, for -in.
func runAndRecord(ctx context.Context, o options, modDir string, stderr io.Writer, tty bool, hints map[string]int) ([]byte, string, error) {
	start := time.Now()
	args := benchArgs(o)
	m := thisMachine(goVersion(ctx, modDir), commandLine(args), o.rounds, start)
	benches, err := listBenchmarks(ctx, modDir, o.bench)
	if err != nil {
		return nil, "", err
	}
	tmp, err := os.CreateTemp("", "benchreport-*.txt")
	if err != nil {
		return nil, "", fmt.Errorf("benchreport: %w", err)
	}
	defer tmp.Close()
	if err := WriteRawHeader(tmp, m); err != nil {
		return nil, "", fmt.Errorf("benchreport: %w", err)
	}
	cpus := 1
	if o.cpu != "" {
		cpus = len(strings.Split(o.cpu, ","))
	}
	p := NewProgress(stderr, time.Now, tty, benches, o.count*cpus, o.rounds, hints)
	p.Start()
	busy0, total0, statOK := cpuBusy()
	benchStart := time.Now()
	var ours time.Duration
	for range o.rounds {
		var cpu time.Duration
		cpu, err = runBenchmarks(ctx, modDir, args, tmp, p)
		ours += cpu
		if err != nil {
			break
		}
		p.EndRound()
	}
	p.Finish(err)
	m.Elapsed = time.Since(start)
	m.LoadEnd = loadAverage()
	if busy1, total1, ok := cpuBusy(); ok && statOK {
		m.OtherCPU = otherCPU(busy0, total0, busy1, total1, m.Cores, ours, time.Since(benchStart))
	}
	if ferr := WriteRawFooter(tmp, m); ferr != nil && err == nil {
		err = fmt.Errorf("benchreport: %w", ferr)
	}
	if err != nil {
		return nil, "", fmt.Errorf("%w\nbenchreport: go test's output so far is in %s; go run ./cmd/benchreport -in %s reports what finished", err, tmp.Name(), tmp.Name())
	}
	raw, err := os.ReadFile(tmp.Name())
	if err != nil {
		return nil, "", fmt.Errorf("benchreport: %w", err)
	}
	os.Remove(tmp.Name())
	return raw, "go test output", nil
}

// writeOutputs writes the chart, the markdown and the raw output (unless
// it was read from that very file) into dir.
func writeOutputs(dir string, res *Results, raw []byte, in string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("benchreport: %w", err)
	}
	var chart, md bytes.Buffer
	if err := WriteSVG(&chart, res); err != nil {
		return fmt.Errorf("benchreport: drawing the chart: %w", err)
	}
	if err := WriteMarkdown(&md, res, fileChart); err != nil {
		return fmt.Errorf("benchreport: writing the markdown: %w", err)
	}
	files := map[string][]byte{fileChart: chart.Bytes(), fileMarkdown: md.Bytes()}
	rawPath := filepath.Join(dir, fileRaw)
	if !sameFile(in, rawPath) {
		files[fileRaw] = raw
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("benchreport: %w", err)
		}
	}
	return nil
}

func sameFile(a, b string) bool {
	if a == "" {
		return false
	}
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}
