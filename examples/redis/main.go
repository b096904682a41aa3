// Command redis runs the cache the way a service deployed as several
// processes would: each process a cachedsql.DB on the two-tier store
// (package backend/tiered: a memory tier in the process in front of
// Redis, kept coherent over Redis pub/sub), all of them on one Redis and
// one database. It shows, process by process, what each read was served
// from, and serves its Prometheus metrics (module contrib/prometheus).
//
//	cd examples/redis && go run .
//
// It runs three processes: A (this one) and B and C (this program run
// again as workers, which it drives over their standard input and
// output). It shows
//
//  1. a read cached in A served from A's memory tier: no payload crosses
//     the network, only the versions of the query's tables are checked in
//     Redis (strict coherence);
//  2. a write in B that invalidates it, so that A's very next read sees
//     the write, with no wait for a pub/sub message;
//  3. B's invalidation of the whole region (region.Region.Invalidate)
//     honoured by A: the region's invalidation strategy is
//     invalidation.Shared, whose times live in Redis and whose changes
//     the tiered store announces over pub/sub;
//  4. a stampede: ten goroutines in each process ask for one uncached
//     query while it is slow (A holds a lock on the table), and one query
//     serves all thirty: in A one goroutine runs it and the others wait for
//     it (single flight), and B and C wait for A's creation lock in Redis;
//  5. what A's /metrics endpoint serves, fetched as curl would.
//
// Each line says for certain where a value came from and where it went.
// For that, before a process reads a key that another has just written,
// the example waits until the other's pub/sub messages have reached it: a
// message that arrives while a process reads the key it is about makes the
// process drop what it read rather than keep it in its memory tier. A
// program needs no such wait; a dropped copy only costs a trip to Redis.
//
// Redis is REDIS_URL's, or, when it is not set, a redis-server from PATH
// that the example starts for the run on a free loopback port; with
// neither it says what it needs and exits with status 1. The database is
// PostgreSQL at DATABASE_URL (it creates, and drops at exit, a table
// redis_example_items), or else a SQLite file in a temporary directory
// that all three processes open. The run's keys in Redis carry a prefix
// of their own and are deleted at exit.
//
//	REDIS_URL=redis://localhost:6379/0 DATABASE_URL=postgres://localhost/app go run .
//
// Flags: -serve keeps serving the metrics after the run, until
// interrupted (curl the URL it prints); -addr sets where (default
// 127.0.0.1:0, a free loopback port).
//
// # Output
//
// With redis-server installed and nothing set (the port differs from run
// to run):
//
//	redis: a redis-server started for this run on a free loopback port (REDIS_URL is not set)
//	database: SQLite, one file that every process opens (DATABASE_URL is not set)
//	processes: A (this one), B and C (this program again), each a cachedsql.DB on the two-tier store
//	metrics: http://127.0.0.1:19191/metrics
//	1. a read cached in A is served from A's memory tier
//	   A: item 1 is apple (the database ran the query)
//	   A: item 1 is apple (A's memory tier, tag versions checked in Redis)
//	   B: item 1 is apple (from Redis, now in B's memory tier too)
//	   B: item 1 is apple (B's memory tier, tag versions checked in Redis)
//	2. a write in B invalidates it: A's next read sees the write (strict coherence)
//	   B: db.Exec: item 1 renamed apricot
//	   A: item 1 is apricot (the database ran the query)
//	   C: item 1 is apricot (from Redis, now in C's memory tier too)
//	3. B invalidates the whole region; A honours it (shared invalidation strategy)
//	   A: item 1 is apricot (A's memory tier, tag versions checked in Redis)
//	   B: db.Region().Invalidate(ctx, true): its time is stored in Redis and announced over pub/sub
//	   A: learnt of it over pub/sub and read its time from Redis (A's own poll is a minute away)
//	   A: item 1 is apricot (the database ran the query)
//	4. a stampede across processes, served by one query
//	   A: locks the table, so that the query is slow (as a long write or a busy database would make it)
//	   A: 10 goroutines ask for the number of items: one takes the creation lock in Redis and runs the query, the others wait for it
//	   B: 10 goroutines ask for it too: one waits for A's creation lock in Redis, the others for it
//	   C: 10 goroutines ask for it too: one waits for A's creation lock in Redis, the others for it
//	   A: unlocks the table
//	   all 30 goroutines got 3 items
//	   queries on the database: A 1, B 0, C 0
//	5. A's metrics, as curl http://127.0.0.1:19191/metrics shows them (some of the lines)
//	   dogpile_region_creation_duration_seconds_count{region="cachedsql:redis_example",result="ok"} 4
//	   dogpile_region_creations_total{region="cachedsql:redis_example"} 4
//	   dogpile_region_hits_total{region="cachedsql:redis_example"} 2
//	   dogpile_region_lock_waits_total{region="cachedsql:redis_example"} 9
//	   dogpile_region_misses_total{region="cachedsql:redis_example"} 13
//	   dogpile_region_remote_lock_waits_total{region="cachedsql:redis_example"} 0
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	dogpileprom "github.com/dogpile-go/dogpile/contrib/prometheus"
)

var (
	serve = flag.Bool("serve", false, "after the run, keep serving the metrics until interrupted")
	addr  = flag.String("addr", "127.0.0.1:0", "the address to serve the metrics on")
)

func main() {
	if name := os.Getenv(workerEnv); name != "" {
		os.Exit(workerMain(name))
	}
	flag.Parse()
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// processNames are the names of the example's processes: A, this one,
// and its workers.
var processNames = []string{"A", "B", "C"}

// goroutines is the number of goroutines each process sets on the
// stampede's query.
const goroutines = 10

// metricNames are the series of A's metrics that the run prints.
var metricNames = []string{
	"dogpile_region_hits_total",
	"dogpile_region_misses_total",
	"dogpile_region_creations_total",
	"dogpile_region_lock_waits_total",
	"dogpile_region_remote_lock_waits_total",
	"dogpile_region_creation_duration_seconds_count",
}

func run(w io.Writer) (err error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Deferred calls clean up as they can; the first failure among them
	// is returned if the run itself went well.
	cleanup := func(f func() error) {
		if cerr := f(); cerr != nil && err == nil {
			err = cerr
		}
	}

	redisURL, stopRedis, err := openRedis(ctx, w)
	if err != nil {
		return err
	}
	defer stopRedis()
	driver, dsn, removeDatabase, err := chooseDatabase(w)
	if err != nil {
		return err
	}
	defer removeDatabase()
	s := setup{RedisURL: redisURL, Driver: driver, DSN: dsn, KeyPrefix: newKeyPrefix()}
	defer cleanup(func() error { return removeKeys(s.RedisURL, s.KeyPrefix) })

	// Process A: this one. Its region reports to the Prometheus
	// collector, for the latency histograms; the counters are read from
	// the region when /metrics is fetched.
	collector := dogpileprom.NewCollector(dogpileprom.Options{})
	a, err := openNode(ctx, "A", s, collector.Observer())
	if err != nil {
		return err
	}
	defer cleanup(a.close)
	if err := createItems(ctx, a.db); err != nil {
		return err
	}
	if driver == "pgx" {
		defer cleanup(func() error {
			_, err := a.db.ExecContext(context.WithoutCancel(ctx), "DROP TABLE redis_example_items")
			return err
		})
	}
	if err := collector.AddDB(a.db); err != nil {
		return err
	}
	metricsURL, shutdown, err := serveMetrics(*addr, collector)
	if err != nil {
		return err
	}
	defer cleanup(shutdown)

	// Processes B and C, started side by side.
	var (
		mu      sync.Mutex
		workers = map[string]*worker{}
		wg      sync.WaitGroup
		errs    = make([]error, 2)
	)
	for i, name := range []string{"B", "C"} {
		wg.Go(func() {
			wk, err := startWorker(ctx, name, s)
			errs[i] = err
			if err == nil {
				mu.Lock()
				workers[name] = wk
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	closeWorkers := func() error {
		errs := make(chan error, len(workers))
		for _, wk := range workers {
			go func() { errs <- wk.close() }()
		}
		var err error
		for range workers {
			err = errors.Join(err, <-errs)
		}
		return err
	}
	defer cleanup(closeWorkers)
	if err := errors.Join(errs...); err != nil {
		return err
	}
	b, c := workers["B"], workers["C"]
	fmt.Fprintln(w, "processes: A (this one), B and C (this program again), each a cachedsql.DB on the two-tier store")
	fmt.Fprintln(w, "metrics:", metricsURL)

	say := func(format string, args ...any) { fmt.Fprintf(w, "   "+format+"\n", args...) }
	read := func(p process, id int) error {
		r, err := call(ctx, p, request{Op: "read", ID: id})
		if err != nil {
			return err
		}
		say("%s: item %d is %s (%s)", p.Name(), id, r.Name, r.From)
		return nil
	}

	fmt.Fprintln(w, "1. a read cached in A is served from A's memory tier")
	for i, p := range []process{a, a, b, b} {
		if i == 2 { // B reads what A wrote
			if err := settle(ctx, b, a); err != nil {
				return err
			}
		}
		if err := read(p, 1); err != nil {
			return err
		}
	}

	fmt.Fprintln(w, "2. a write in B invalidates it: A's next read sees the write (strict coherence)")
	if _, err := call(ctx, b, request{Op: "rename", ID: 1, Name: "apricot"}); err != nil {
		return err
	}
	say("B: db.Exec: item 1 renamed apricot")
	if err := read(a, 1); err != nil {
		return err
	}
	if err := settle(ctx, c, a, b); err != nil { // C reads what A wrote
		return err
	}
	if err := read(c, 1); err != nil {
		return err
	}

	fmt.Fprintln(w, "3. B invalidates the whole region; A honours it (shared invalidation strategy)")
	if err := read(a, 1); err != nil {
		return err
	}
	inv, err := call(ctx, b, request{Op: "invalidate"})
	if err != nil {
		return err
	}
	say("B: db.Region().Invalidate(ctx, true): its time is stored in Redis and announced over pub/sub")
	if _, err := call(ctx, a, request{Op: "await-invalidation", Hard: inv.Hard}); err != nil {
		return err
	}
	say("A: learnt of it over pub/sub and read its time from Redis (A's own poll is a minute away)")
	if err := read(a, 1); err != nil {
		return err
	}

	fmt.Fprintln(w, "4. a stampede across processes, served by one query")
	if err := stampede(ctx, say, driver, a, b, c); err != nil {
		return err
	}

	fmt.Fprintf(w, "5. A's metrics, as curl %s shows them (some of the lines)\n", metricsURL)
	lines, err := scrape(ctx, metricsURL, metricNames...)
	if err != nil {
		return err
	}
	for _, line := range lines {
		say("%s", line)
	}

	if *serve {
		// Only A's metrics are served: the workers are done.
		if err := closeWorkers(); err != nil {
			return err
		}
		fmt.Fprintf(w, "serving %s until interrupted\n", metricsURL)
		<-ctx.Done()
	}
	return nil
}

// settle waits until reader has received every pub/sub message that the
// processes from sent so far (see node.mark).
func settle(ctx context.Context, reader process, from ...process) error {
	r, err := call(ctx, reader, request{Op: "marks"})
	if err != nil {
		return err
	}
	since := map[string]int64{}
	for _, p := range from {
		if _, err := call(ctx, p, request{Op: "mark"}); err != nil {
			return err
		}
		since[p.Name()] = r.Marks[p.Name()]
	}
	_, err = call(ctx, reader, request{Op: "await-marks", Marks: since})
	return err
}

// stampede is step 4: A locks the table so that the query is slow, its
// goroutines ask for it and one of them takes the creation lock in Redis
// and runs it; then B's and C's goroutines ask for it and wait for that
// lock; then A releases the table and everyone gets the one result.
func stampede(ctx context.Context, say func(string, ...any), driver string, a *node, others ...process) (err error) {
	release, err := lockTable(ctx, a.db.Inner(), driver)
	if err != nil {
		return err
	}
	var once sync.Once
	unlock := func() error {
		var err error
		once.Do(func() { err = release() })
		return err
	}
	defer func() {
		if uerr := unlock(); uerr != nil && err == nil {
			err = uerr
		}
	}()
	say("A: locks the table, so that the query is slow (as a long write or a busy database would make it)")
	if _, err := call(ctx, a, request{Op: "stampede", Goroutines: goroutines, Leader: true}); err != nil {
		return err
	}
	say("A: %d goroutines ask for the number of items: one takes the creation lock in Redis and runs the query, the others wait for it", goroutines)
	errs := make([]error, len(others))
	var wg sync.WaitGroup
	for i, p := range others {
		wg.Go(func() {
			_, errs[i] = call(ctx, p, request{Op: "stampede", Goroutines: goroutines})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, p := range others {
		say("%s: %d goroutines ask for it too: one waits for A's creation lock in Redis, the others for it", p.Name(), goroutines)
	}
	if err := unlock(); err != nil {
		return err
	}
	say("A: unlocks the table")
	all := append([]process{a}, others...)
	got, queries := -1, ""
	for _, p := range all {
		r, err := call(ctx, p, request{Op: "stampede-done"})
		if err != nil {
			return err
		}
		if got >= 0 && r.Count != got {
			return fmt.Errorf("process %s's goroutines got %d items, the others' %d", p.Name(), r.Count, got)
		}
		got = r.Count
		queries += fmt.Sprintf(", %s %d", p.Name(), r.Queries)
	}
	say("all %d goroutines got %d items", len(all)*goroutines, got)
	say("queries on the database:%s", queries[1:])
	return nil
}
