// Command benchreport runs the bench module's benchmarks and reports them:
// progress while they run, a summary table at the end, and a chart
// (results.svg), a markdown table (results.md) and go test's raw output
// (raw.txt, for benchstat) in docs/benchmarks, which the README shows.
//
//	cd bench
//	go run ./cmd/benchreport                      # all, -count 5
//	go run ./cmd/benchreport -count 1 -rounds 10  # the same, interleaved (shared machines)
//	go run ./cmd/benchreport -bench 'Hit$' -count 10 -benchtime 2s
//	go run ./cmd/benchreport -in old.txt -out -   # a summary of an earlier run
//
// go test runs all the -count runs of one sub-benchmark before the next, so
// on a shared machine a spell of someone else's work can fall on one
// variant alone and skew a ratio; -rounds runs the whole set again and
// again instead, so that such a spell spreads over every variant.
//
// Results are grouped by benchmark: the sub-benchmarks whose names differ
// only in one element (the variant, by default the last) form a group, e.g.
// BenchmarkSelect/rows=1/{cachedsql_hit,postgres_uncached,...}. Each
// variant's figures are the medians of its runs, and "±" is the 95%
// confidence interval of the median, as benchstat computes it (with fewer
// than 6 runs, the distance from the median to the farthest run). A
// built-in table ([builtinRules])
// names the baselines that each known benchmark's ratios divide by, and
// dogpile's own variants, which the chart highlights; -ratio adds ratios
// for others.
//
// The raw output starts with "# benchreport" lines that describe the
// machine (CPU, cores, Go version, date, load average, and how much CPU
// other processes used during the run); benchstat ignores them, and -in
// reads them back.
package main
