package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Machine says where and when the benchmarks ran. An empty field is unknown
// (a go test output read with -in that benchreport did not write).
type Machine struct {
	GOOS, GOARCH string
	// CPU is the model name from /proc/cpuinfo, else go test's "cpu:" line.
	CPU string
	// Cores is the number of logical CPUs; 0 when unknown.
	Cores int
	// Go is the toolchain that built the benchmarks, e.g. "go1.26.8".
	Go string
	// Date is when the run started.
	Date time.Time
	// LoadStart and LoadEnd are /proc/loadavg's 1, 5 and 15 minute load
	// averages before and after the run: on a shared machine they say how
	// much other work competed with the benchmarks.
	LoadStart, LoadEnd string
	// Command is the go test command line.
	Command string
	// Rounds is how many times the command ran, in turn (-rounds); 0 or 1
	// is once.
	Rounds int
	// Elapsed is how long the run took.
	Elapsed time.Duration
	// OtherCPU is how many cores' worth of CPU time other processes used,
	// on average, while the benchmarks ran: the machine's busy time from
	// /proc/stat less what go test and everything it started used. It is
	// a truer measure of interference than the load average, which counts
	// the benchmarks themselves. "" when unknown.
	OtherCPU string
}

// set sets the field a "# benchreport key: value" line names; unknown keys
// are ignored, so newer files still read.
func (m *Machine) set(key, val string) {
	switch key {
	case "cpu":
		m.CPU = val
	case "cores":
		m.Cores, _ = strconv.Atoi(val)
	case "go":
		m.Go = val
	case "date":
		m.Date, _ = time.Parse(time.RFC3339, val)
	case "load-start":
		m.LoadStart = val
	case "load-end":
		m.LoadEnd = val
	case "command":
		m.Command = val
	case "rounds":
		m.Rounds, _ = strconv.Atoi(val)
	case "elapsed":
		m.Elapsed, _ = time.ParseDuration(val)
	case "other-cpu":
		m.OtherCPU = val
	}
}

// thisMachine returns what can be known of this machine before a run.
func thisMachine(goVersion, command string, rounds int, now time.Time) Machine {
	return Machine{
		GOOS:      runtime.GOOS,
		GOARCH:    runtime.GOARCH,
		CPU:       cpuModel(),
		Cores:     runtime.NumCPU(),
		Go:        goVersion,
		Date:      now.UTC().Truncate(time.Second),
		LoadStart: loadAverage(),
		Command:   command,
		Rounds:    rounds,
	}
}

// WriteRawHeader writes what is known of the machine before the run as
// "# benchreport" lines, which Parse reads back and benchstat ignores.
func WriteRawHeader(w io.Writer, m Machine) error {
	_, err := fmt.Fprintf(w, "%[1]sdate: %[2]s\n%[1]sgo: %[3]s\n%[1]scores: %[4]d\n%[1]scpu: %[5]s\n%[1]sload-start: %[6]s\n%[1]scommand: %[7]s\n",
		rawHeaderPrefix, m.Date.Format(time.RFC3339), m.Go, m.Cores, m.CPU, m.LoadStart, m.Command)
	if err == nil && m.Rounds > 1 {
		_, err = fmt.Fprintf(w, "%srounds: %d\n", rawHeaderPrefix, m.Rounds)
	}
	return err
}

// WriteRawFooter writes what is known only after the run.
func WriteRawFooter(w io.Writer, m Machine) error {
	_, err := fmt.Fprintf(w, "%[1]sload-end: %[2]s\n%[1]selapsed: %[3]s\n",
		rawHeaderPrefix, m.LoadEnd, m.Elapsed.Round(time.Second))
	if err == nil && m.OtherCPU != "" {
		_, err = fmt.Fprintf(w, "%sother-cpu: %s\n", rawHeaderPrefix, m.OtherCPU)
	}
	return err
}

// cpuModel returns the first "model name" of /proc/cpuinfo, or "".
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(key) == "model name" {
			return strings.TrimSpace(val)
		}
	}
	return ""
}

// loadAverage returns the 1, 5 and 15 minute load averages of
// /proc/loadavg, or "" where there is none.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// Describe returns one line saying where the benchmarks ran, e.g.
// "linux/amd64 · AMD EPYC · 2 cores · go1.26.8".
func (m Machine) Describe() string {
	var parts []string
	if m.GOOS != "" || m.GOARCH != "" {
		parts = append(parts, m.GOOS+"/"+m.GOARCH)
	}
	if m.CPU != "" {
		parts = append(parts, m.CPU)
	}
	if m.Cores > 0 {
		parts = append(parts, plural(m.Cores, "core"))
	}
	if m.Go != "" {
		parts = append(parts, m.Go)
	}
	if len(parts) == 0 {
		return "machine unknown"
	}
	return strings.Join(parts, " · ")
}

// When returns the date and the load, e.g. "2026-01-02 15:04 UTC · load
// average 1.02 0.88 0.71 at the start, 2.10 1.20 0.90 at the end".
func (m Machine) When() string {
	var parts []string
	if m.Date.IsZero() {
		parts = append(parts, "date unknown")
	} else {
		parts = append(parts, m.Date.UTC().Format("2006-01-02 15:04 MST"))
	}
	if m.Elapsed > 0 {
		parts = append(parts, "took "+m.Elapsed.Round(time.Second).String())
	}
	if m.OtherCPU != "" && m.Cores > 0 {
		parts = append(parts, "other processes used "+m.OtherCPU+" of "+plural(m.Cores, "core")+" on average")
	}
	switch {
	case m.LoadStart != "" && m.LoadEnd != "":
		parts = append(parts, "load average "+m.LoadStart+" at the start, "+m.LoadEnd+" at the end")
	case m.LoadStart != "":
		parts = append(parts, "load average "+m.LoadStart+" at the start")
	}
	return strings.Join(parts, " · ")
}

// Busy reports whether other work competed with the benchmarks for the
// CPU: other processes used a quarter of the cores or more during the run,
// or, where that is unknown, the 1-minute load average before the run was
// half the core count or more. Small differences are then noise.
func (m Machine) Busy() bool {
	if m.Cores == 0 {
		return false
	}
	if x, err := strconv.ParseFloat(m.OtherCPU, 64); err == nil {
		return x >= float64(m.Cores)/4
	}
	if f := strings.Fields(m.LoadStart); len(f) > 0 {
		x, err := strconv.ParseFloat(f[0], 64)
		return err == nil && x >= float64(m.Cores)/2
	}
	return false
}

// cpuBusy returns the busy and total jiffies of all CPUs from /proc/stat,
// or ok false where there is none.
func cpuBusy() (busy, total uint64, ok bool) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, 0, false
	}
	// user nice system idle iowait irq softirq steal ...; guest time is
	// already inside user and nice.
	for i, s := range f[1:min(len(f), 9)] {
		x, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		total += x
		if i != 3 && i != 4 { // idle, iowait
			busy += x
		}
	}
	return busy, total, true
}

// otherCPU returns, as cores' worth formatted for [Machine.OtherCPU], the
// CPU time of other processes between two cpuBusy readings, given the CPU
// time this run's processes used (ours) over elapsed wall time.
func otherCPU(busy0, total0, busy1, total1 uint64, cores int, ours, elapsed time.Duration) string {
	if total1 <= total0 || elapsed <= 0 || cores <= 0 {
		return ""
	}
	machine := float64(busy1-busy0) / float64(total1-total0) * float64(cores)
	other := max(machine-ours.Seconds()/elapsed.Seconds(), 0)
	return strconv.FormatFloat(other, 'f', 2, 64)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
