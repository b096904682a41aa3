package bench

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU runs fn (a benchmark body) and reports the CPU time it used per
// operation as "cpu-ns/op": where a round trip to a server dominates the
// wall time, this is the part of the cost that the client's code decides.
func reportCPU(b *testing.B, fn func()) {
	b.Helper()
	start := cpuTime()
	fn()
	if b.N > 0 {
		b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	}
}
