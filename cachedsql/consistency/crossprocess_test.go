package consistency_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A worker is the test binary run again with envWorker set to a JSON
// workerJob: it opens its own cachedsql.DB on the job's site, says "ready"
// on stdout, waits for a line on stdin, runs its half of the load and
// writes its history to the job's file.
const envWorker = "DOGPILE_CONSISTENCY_WORKER"

type workerJob struct {
	Site     site
	Load     load // Now is not sent: workers use the wall clock
	Out      string
	Deadline time.Time // the worker gives up past it
}

// wallClock is the clock of histories that span processes: UnixNano of
// the system's real-time clock, which every process of the machine reads
// alike. time.Now's monotonic reading cannot be compared across processes
// (each has its own origin). Within one process the real-time clock is
// sound as long as nothing steps it during the run, which each process
// checks (clockStep).
func wallClock() int64 { return time.Now().UnixNano() }

// clockStep measures how far the real-time clock moved against the
// monotonic one since start: a step (NTP, an operator) would make the
// recorded times lie.
func clockStep(start time.Time) time.Duration {
	now := time.Now()
	return now.Round(0).Sub(start.Round(0)) - now.Sub(start)
}

// maxClockStep is the disagreement between the clocks tolerated over a run
// (slewing, rounding): well under the time any operation takes.
const maxClockStep = time.Millisecond

type workerResult struct {
	History   *History
	ClockStep time.Duration
}

func runWorker() int {
	var job workerJob
	if err := json.Unmarshal([]byte(os.Getenv(envWorker)), &job); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 2
	}
	ctx, cancel := context.WithDeadline(context.Background(), job.Deadline)
	defer cancel()
	h, err := job.Site.open()
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 2
	}
	defer h.close()
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		fmt.Fprintln(os.Stderr, "worker: no start signal:", err)
		return 2
	}
	job.Load.Now = wallClock
	start := time.Now()
	// A deadlock under test must not hang the parent: past its time the
	// worker prints its stacks and exits.
	watchdog := time.AfterFunc(job.Load.Duration+stuckAfter, func() {
		fmt.Fprintf(os.Stderr, "worker: the load did not stop %v after its end; its goroutines in the tag protocol or waiting for a creation lock:\n%s\n", stuckAfter, stuckSummary(goroutines()))
		os.Exit(3)
	})
	hist := job.Load.run(ctx, h)
	watchdog.Stop()
	data, err := json.Marshal(workerResult{History: hist, ClockStep: clockStep(start)})
	if err == nil {
		err = os.WriteFile(job.Out, data, 0o600)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 2
	}
	return 0
}

// The history test split between two OS processes that share PostgreSQL
// and Redis (the same namespace): this one runs half the writers and
// readers, a worker process the other half, and the merged history must be
// linearizable.
func TestCrossProcessHistoryLinearizable(t *testing.T) {
	t.Run("redis", func(t *testing.T) { crossProcessHistory(t, false) })
	// Each process with a memory tier in front of Redis (backend/tiered,
	// strict coherence): a near hit is served only after its tag versions
	// were checked in Redis.
	t.Run("two-tier", func(t *testing.T) { crossProcessHistory(t, true) })
}

func crossProcessHistory(t *testing.T, twoTier bool) {
	s := newSite(t)
	s.TwoTier = twoTier
	d := historyDuration(t)
	const procs = 2
	half := load{Writers: writers / procs, Readers: readers / procs, Duration: d, WriterPause: writerPause, Procs: procs}

	child := half
	child.Proc = 1
	job := workerJob{Site: s, Load: child, Out: filepath.Join(t.TempDir(), "worker.json"), Deadline: time.Now().Add(d + 2*time.Minute)}
	spec, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envWorker+"="+string(spec))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() }) // no-op once it exited

	h := s.mustOpen(t)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("worker did not get ready: %q, %v", line, err)
	}
	if _, err := io.WriteString(stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
	own := half
	own.Proc = 0
	own.Now = wallClock
	start := time.Now()
	hist := runWatched(t, own, h)
	step := clockStep(start)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("worker: %v", err)
		}
	case <-time.After(stuckAfter + time.Minute):
		t.Fatal("the worker did not exit")
	}
	data, err := os.ReadFile(job.Out)
	if err != nil {
		t.Fatal(err)
	}
	var res workerResult
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	for i, st := range []time.Duration{step, res.ClockStep} {
		if st.Abs() > maxClockStep {
			t.Fatalf("process %d: the real-time clock moved %v against the monotonic clock during the run: the recorded times cannot be trusted", i, st)
		}
	}
	t.Logf("each process: %d and %d operations; real-time against monotonic clock: %v and %v",
		len(hist.Ops), len(res.History.Ops), step, res.ClockStep)
	hist.merge(res.History)
	report(t, "two processes", hist, check(hist, checkTimeout))
}
