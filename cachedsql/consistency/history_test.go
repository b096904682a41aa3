package consistency_test

import (
	"testing"
	"time"
)

// The shape of every history run: 8 writers and 16 readers in all, on the
// nKeys rows of kv.
const (
	writers = 8
	readers = 16
	// writerPause bounds each writer's pause between transactions. Any
	// write to kv invalidates every cached read of it, and pending marks
	// keep the cache off while a transaction is open; without pauses the
	// cache would never be hit.
	writerPause = 200 * time.Millisecond
	// checkTimeout bounds porcupine on each key.
	checkTimeout = 5 * time.Minute
)

// Eight writers commit (and roll back) transactions while sixteen readers
// read through the cache, one process, one cachedsql.DB on Redis: every
// read must see every commit that returned before it began, and nothing a
// rolled-back transaction wrote.
func TestHistoryLinearizable(t *testing.T) {
	s := newSite(t)
	h := s.mustOpen(t)
	base := time.Now()
	l := load{
		Writers: writers, Readers: readers, Duration: historyDuration(t), WriterPause: writerPause,
		Proc: 0, Procs: 1,
		Now: func() int64 { return int64(time.Since(base)) }, // monotonic
	}
	hist := runWatched(t, l, h)
	report(t, "one process", hist, check(hist, checkTimeout))
}
