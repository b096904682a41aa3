package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/perf/benchfmt"
)

// Progress reports a go test -bench run as it goes, one line per event:
// which benchmark runs, how many of the top-level benchmarks (known from go
// test -list) and of the results are done, the time elapsed and an estimate
// of the time left. On a terminal it also keeps a status line, redrawn
// every second, under the events. A run in rounds (go test run again for
// each) goes through the list once per round.
//
// The number of results is known only as the run goes: a top-level
// benchmark's sub-benchmarks show up when it runs. Until then the estimate
// takes a benchmark's count from the previous run's output (hints), else
// the average so far, so it firms up as the run goes.
//
// Progress is safe for concurrent use by multiple goroutines.
type Progress struct {
	w   io.Writer
	now func() time.Time
	tty bool
	// benches are the top-level benchmarks, in the order they run, the
	// list once per round.
	benches []string
	// perRound is the number of benchmarks in a round; rounds is the
	// number of rounds.
	perRound, rounds int
	// runsPerLeaf is how many results each sub-benchmark gives in a round:
	// -count times the number of -cpu values.
	runsPerLeaf int
	// hints are the sub-benchmarks per top-level benchmark in an earlier
	// run, by name.
	hints map[string]int

	mu sync.Mutex // guards the fields below
	// start is when the run started; first when the first benchmark did
	// (the build and setup before it are not a benchmark's time).
	start, first time.Time
	// cur is the index in benches of the running benchmark; -1 before.
	cur int
	// ended is set when the benchmark at cur is over (its round ended).
	ended bool
	// leaves counts the sub-benchmarks seen of each benchmark.
	leaves []int
	// seen holds the sub-benchmarks seen, by index in benches and name.
	seen map[leafAt]bool
	// results counts each sub-benchmark's results over all rounds, by full
	// name.
	results map[string]int
	// done counts all results.
	done int
	// running is the sub-benchmark go test runs now.
	running string
	// quoting is set after a "--- FAIL" or "--- SKIP" line, whose indented
	// lines (the reason) are passed on too.
	quoting bool
	stop    chan struct{}
}

type leafAt struct {
	i    int
	name string
}

// NewProgress returns a Progress for benches (top-level names with
// "Benchmark") run rounds times, each of whose sub-benchmarks gives
// runsPerLeaf results a round. now is the clock (time.Now outside tests);
// tty says w is a terminal.
func NewProgress(w io.Writer, now func() time.Time, tty bool, benches []string, runsPerLeaf, rounds int, hints map[string]int) *Progress {
	rounds = max(rounds, 1)
	var all []string
	for range rounds {
		all = append(all, benches...)
	}
	return &Progress{
		w: w, now: now, tty: tty, benches: all, perRound: len(benches), rounds: rounds,
		runsPerLeaf: max(runsPerLeaf, 1), hints: hints,
		cur: -1, leaves: make([]int, len(all)), seen: map[leafAt]bool{}, results: map[string]int{},
	}
}

// Start reports the plan and, on a terminal, starts the status line.
func (p *Progress) Start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.start = p.now()
	names := make([]string, p.perRound)
	for i, b := range p.benches[:p.perRound] {
		names[i] = strings.TrimPrefix(b, "Benchmark")
	}
	per := plural(p.runsPerLeaf*p.rounds, "result") + " per variant"
	if p.rounds > 1 {
		per += fmt.Sprintf(", %d a round in %d rounds", p.runsPerLeaf, p.rounds)
	}
	p.eventLocked(fmt.Sprintf("%s to run (go test -list): %s; %s",
		plural(p.perRound, "benchmark"), strings.Join(names, ", "), per))
	if p.tty {
		p.stop = make(chan struct{})
		go p.tick(p.stop)
	}
}

func (p *Progress) tick(stop chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			p.mu.Lock()
			p.statusLocked()
			p.mu.Unlock()
		}
	}
}

// Partial takes the start of a line go test has not finished: go test
// prints a benchmark's name before it runs it.
func (p *Progress) Partial(s string) {
	name := strings.TrimSpace(s)
	if !strings.HasPrefix(name, "Benchmark") || strings.ContainsAny(name, " \t") {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.enterLocked(name)
	p.running = name
	p.statusLocked()
}

// Line takes a complete line of go test's output.
func (p *Progress) Line(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if strings.HasPrefix(line, "Benchmark") {
		p.resultLocked(line)
		return
	}
	switch {
	case strings.HasPrefix(line, "--- FAIL") || strings.HasPrefix(line, "--- SKIP"):
		p.quoting = true
	case p.quoting && (strings.HasPrefix(line, "    ") || strings.HasPrefix(line, "\t")):
	case isQuietLine(line):
		p.quoting = false
		return
	default:
		p.quoting = false
	}
	p.eventLocked("go test: " + line)
}

// isQuietLine reports whether a line of go test's output is part of every
// run (configuration, PASS, ok) and not worth an event.
func isQuietLine(line string) bool {
	for _, prefix := range []string{"goos:", "goarch:", "pkg:", "cpu:", "PASS", "ok  ", "--- BENCH:"} {
		if strings.HasPrefix(line, prefix) {
			return true
		}
	}
	return strings.TrimSpace(line) == ""
}

func (p *Progress) resultLocked(line string) {
	r := benchfmt.NewReader(strings.NewReader(line), "")
	if !r.Scan() {
		return
	}
	res, ok := r.Result().(*benchfmt.Result)
	if !ok {
		// A name printed with a message instead of a result, e.g. a
		// benchmark that failed: pass it on.
		p.eventLocked("go test: " + line)
		return
	}
	name := "Benchmark" + string(res.Name.Full()) // the reader drops "Benchmark"
	p.enterLocked(name)
	if at := (leafAt{p.cur, name}); !p.seen[at] && p.cur >= 0 {
		p.seen[at] = true
		p.leaves[p.cur]++
	}
	p.results[name]++
	p.done++
	p.running = ""
	value := ""
	if ns, ok := res.Value("sec/op"); ok {
		value = ": " + fmtTime(ns*1e9) + "/op"
	}
	msg := fmt.Sprintf("%s %s run %d/%d%s · %d/%s results",
		p.benchLabelLocked(), strings.TrimPrefix(name, "Benchmark"), p.results[name], p.runsPerLeaf*p.rounds, value, p.done, p.totalLabelLocked())
	p.eventLocked(msg + p.timesLocked())
}

// enterLocked notes that name (a full benchmark name) runs, and reports
// the end of the previous top-level benchmark and the start of the next.
func (p *Progress) enterLocked(name string) {
	if p.first.IsZero() {
		p.first = p.now()
	}
	base := string(benchfmt.Name(name).Base())
	if p.cur >= 0 && !p.ended && p.benches[p.cur] == base {
		return
	}
	if p.cur >= 0 && !p.ended {
		p.finishBenchLocked()
		p.ended = true
	}
	for i := p.cur + 1; i < len(p.benches); i++ {
		if p.benches[i] == base {
			// Any benchmarks between ran nothing (skipped or filtered).
			p.cur = i
			p.ended = false
			p.eventLocked(fmt.Sprintf("%s started%s", p.benchLabelLocked(), p.timesLocked()))
			return
		}
	}
	// Not in the list (or out of order): count it with the current one.
}

func (p *Progress) finishBenchLocked() {
	p.eventLocked(fmt.Sprintf("%s done: %s × %s%s",
		p.benchLabelLocked(), plural(p.leaves[p.cur], "variant"), plural(p.runsPerLeaf, "result"), p.timesLocked()))
}

// benchLabelLocked returns e.g. "[2/5 RedisHit]", or in rounds
// "[round 1/3, 2/5 RedisHit]".
func (p *Progress) benchLabelLocked() string {
	if p.cur < 0 {
		return fmt.Sprintf("[0/%d]", p.perRound)
	}
	label := fmt.Sprintf("%d/%d %s", p.cur%p.perRound+1, p.perRound, strings.TrimPrefix(p.benches[p.cur], "Benchmark"))
	if p.rounds > 1 {
		label = fmt.Sprintf("round %d/%d, %s", p.cur/p.perRound+1, p.rounds, label)
	}
	return "[" + label + "]"
}

// estimateTotalLocked estimates the number of results the run will give.
// A benchmark's sub-benchmarks are counted once it has run (in an earlier
// round too); before that the hints give them, else the average so far.
func (p *Progress) estimateTotalLocked() (total int, exact bool) {
	known := map[string]int{}
	for k, v := range p.hints {
		known[k] = v
	}
	finished, sum := 0, 0
	for i := 0; i < p.cur; i++ {
		known[p.benches[i]] = p.leaves[i]
		if p.leaves[i] > 0 {
			finished++
			sum += p.leaves[i]
		}
	}
	// Exact as far as the hints are right: every benchmark still to come
	// is known, and the running one has not outgrown its count.
	exact = true
	leaves := 0
	for i, name := range p.benches {
		if i < p.cur {
			leaves += p.leaves[i]
			continue
		}
		seen := 0
		if i == p.cur {
			seen = p.leaves[i]
		}
		k, ok := known[name]
		switch {
		case ok:
			leaves += max(k, seen)
			exact = exact && seen <= k
		case finished > 0:
			leaves += max((sum+finished/2)/finished, seen)
			exact = false
		default:
			leaves += max(seen, 1)
			exact = false
		}
	}
	return leaves * p.runsPerLeaf, exact
}

func (p *Progress) totalLabelLocked() string {
	total, exact := p.estimateTotalLocked()
	total = max(total, p.done)
	if exact {
		return fmt.Sprint(total)
	}
	return fmt.Sprintf("~%d", total)
}

// timesLocked returns " · 1:02 elapsed · ~6:10 left", the estimate once a
// result is in.
func (p *Progress) timesLocked() string {
	now := p.now()
	s := " · " + fmtClock(now.Sub(p.start)) + " elapsed"
	if p.done > 0 && !p.first.IsZero() {
		total, _ := p.estimateTotalLocked()
		perResult := now.Sub(p.first) / time.Duration(p.done)
		left := time.Duration(max(total-p.done, 0)) * perResult
		s += " · ~" + fmtClock(left) + " left"
	}
	return s
}

// fmtClock formats a duration as m:ss or h:mm:ss.
func fmtClock(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}

// eventLocked writes one event line (over the status line on a terminal,
// which it then redraws).
func (p *Progress) eventLocked(msg string) {
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintf(p.w, "benchreport: %s\n", msg)
	p.statusLocked()
}

func (p *Progress) statusLocked() {
	if !p.tty || p.stop == nil {
		return
	}
	what := "building and starting"
	if p.running != "" {
		what = "running " + strings.TrimPrefix(p.running, "Benchmark") + fmt.Sprintf(" (run %d/%d)", p.results[p.running]+1, p.runsPerLeaf*p.rounds)
	} else if p.done > 0 {
		what = "setting up"
	}
	fmt.Fprintf(p.w, "\r\033[K  ▸ %s %s%s", p.benchLabelLocked(), what, p.timesLocked())
}

// EndRound ends a round: the next benchmark to start belongs to the next
// round even if it has the name of the last one.
func (p *Progress) EndRound() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur >= 0 && !p.ended {
		p.finishBenchLocked()
	}
	// The next search starts at the next round's first benchmark.
	p.cur = (max(p.cur, 0)/p.perRound+1)*p.perRound - 1
	p.ended = true
}

// Finish ends the report: the last benchmark's end and the totals, or err.
func (p *Progress) Finish(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stop != nil {
		close(p.stop)
		p.stop = nil
		fmt.Fprint(p.w, "\r\033[K")
	}
	if p.cur >= 0 && !p.ended {
		p.finishBenchLocked()
	}
	elapsed := fmtClock(p.now().Sub(p.start))
	if err != nil {
		p.eventLocked(fmt.Sprintf("go test failed after %s with %d results: %v", elapsed, p.done, err))
		return
	}
	p.eventLocked(fmt.Sprintf("finished: %d results in %s", p.done, elapsed))
}
