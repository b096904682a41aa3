package dogpileprom_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/cachedsql"
	dogpileprom "github.com/dogpile-go/dogpile/contrib/prometheus"
	"github.com/dogpile-go/dogpile/invalidation"
	"github.com/dogpile-go/dogpile/region"
)

var _ dogpileprom.DB = (*cachedsql.DB)(nil)

var errBroken = errors.New("broken creator")

// driveRegion makes users do: a miss and a creation of "a", a hit of "a", a
// miss and a failed creation of "b", a soft invalidation, and a creation
// of "a" again for its stale value.
func driveRegion(t *testing.T, users *region.Region, clk interface{ Advance(time.Duration) time.Time }) {
	t.Helper()
	ctx := context.Background()
	for _, step := range []struct {
		key     string
		create  func(context.Context) (string, error)
		wantErr error
	}{
		{"a", value("A"), nil},
		{"a", value("unused"), nil},
		{"b", func(context.Context) (string, error) { return "", errBroken }, errBroken},
	} {
		if _, err := region.GetOrCreate(ctx, users, step.key, step.create); !errors.Is(err, step.wantErr) {
			t.Fatalf("GetOrCreate(%q) = %v, want %v", step.key, err, step.wantErr)
		}
	}
	clk.Advance(time.Second)
	if err := users.Invalidate(ctx, false); err != nil {
		t.Fatal(err)
	}
	if v, err := region.GetOrCreate(ctx, users, "a", value("A2")); v != "A2" || err != nil {
		t.Fatalf("GetOrCreate(a) after invalidation = %q, %v", v, err)
	}
}

func TestCollectorGatherAndCompare(t *testing.T) {
	c := dogpileprom.NewCollector(dogpileprom.Options{ConstLabels: prometheus.Labels{"service": "shop"}})
	users, clk := newRegion(t, "users", region.WithObserver(c.Observer()))
	if err := c.AddRegion(users); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	driveRegion(t, users, clk)

	const want = `
# HELP dogpile_region_creation_errors_total Creator calls that returned an error or panicked.
# TYPE dogpile_region_creation_errors_total counter
dogpile_region_creation_errors_total{region="users",service="shop"} 1
# HELP dogpile_region_creations_total Creator calls that returned a value.
# TYPE dogpile_region_creations_total counter
dogpile_region_creations_total{region="users",service="shop"} 2
# HELP dogpile_region_hits_total Lookups answered with a fresh value.
# TYPE dogpile_region_hits_total counter
dogpile_region_hits_total{region="users",service="shop"} 1
# HELP dogpile_region_invalidations_total Calls of Invalidate on the region.
# TYPE dogpile_region_invalidations_total counter
dogpile_region_invalidations_total{region="users",service="shop"} 1
# HELP dogpile_region_misses_total Lookups that found no usable value (none, another format version, hard-invalidated, undecodable, or a backend error).
# TYPE dogpile_region_misses_total counter
dogpile_region_misses_total{region="users",service="shop"} 2
# HELP dogpile_region_stale_served_total Stale values returned while a new one was being made.
# TYPE dogpile_region_stale_served_total counter
dogpile_region_stale_served_total{region="users",service="shop"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"dogpile_region_creation_errors_total", "dogpile_region_creations_total", "dogpile_region_hits_total",
		"dogpile_region_invalidations_total", "dogpile_region_misses_total", "dogpile_region_stale_served_total",
	); err != nil {
		t.Fatal(err)
	}
	// 12 region counters and one histogram with two series (ok, error).
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 14 {
		t.Fatalf("GatherAndCount = %d, %v; want 14 series", n, err)
	}
}

func TestCollectorScrape(t *testing.T) {
	c := dogpileprom.NewCollector(dogpileprom.Options{})
	users, clk := newRegion(t, "users", region.WithObserver(c.Observer()))
	idle, _ := newRegion(t, "idle") // added, but without the observer
	for _, r := range []*region.Region{users, idle} {
		if err := c.AddRegion(r); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	driveRegion(t, users, clk)

	got := scrape(t, reg)
	expectSeries(t, got, map[string]string{
		`dogpile_region_hits_total{region="users"}`:                                             "1",
		`dogpile_region_misses_total{region="users"}`:                                           "2",
		`dogpile_region_stale_served_total{region="users"}`:                                     "0",
		`dogpile_region_creations_total{region="users"}`:                                        "2",
		`dogpile_region_creation_errors_total{region="users"}`:                                  "1",
		`dogpile_region_lock_waits_total{region="users"}`:                                       "0",
		`dogpile_region_remote_lock_waits_total{region="users"}`:                                "0",
		`dogpile_region_backend_errors_total{region="users"}`:                                   "0",
		`dogpile_region_decode_errors_total{region="users"}`:                                    "0",
		`dogpile_region_invalidations_total{region="users"}`:                                    "1",
		`dogpile_region_async_queued_total{region="users"}`:                                     "0",
		`dogpile_region_async_rejected_total{region="users"}`:                                   "0",
		`dogpile_region_creation_duration_seconds_count{region="users",result="ok"}`:            "2",
		`dogpile_region_creation_duration_seconds_count{region="users",result="error"}`:         "1",
		`dogpile_region_creation_duration_seconds_bucket{region="users",result="ok",le="+Inf"}`: "2",
		`dogpile_region_hits_total{region="idle"}`:                                              "0",
	})
	for name := range got {
		if strings.Contains(name, `region="idle"`) && strings.Contains(name, "duration") {
			t.Errorf("a histogram series for a region without the observer: %s", name)
		}
		if strings.HasPrefix(name, "dogpile_region_lock_wait_duration_seconds") {
			t.Errorf("a lock-wait series without a lock wait: %s", name)
		}
	}
}

func TestPoolMetrics(t *testing.T) {
	pool, err := region.NewPool(region.PoolOptions{Workers: 1, QueueSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	c := dogpileprom.NewCollector(dogpileprom.Options{})
	reports, clk := newRegion(t, "reports", region.WithRunner(pool), region.WithObserver(c.Observer()))
	if err := c.AddRegion(reports); err != nil {
		t.Fatal(err)
	}
	if err := c.AddPool("reports", pool); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)

	ctx := context.Background()
	for _, k := range []string{"k1", "k2", "k3"} {
		if err := region.Set(ctx, reports, k, "old"); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(time.Second)
	if err := reports.Invalidate(ctx, false); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	blocked := func(v string, err error) func(context.Context) (string, error) {
		return func(context.Context) (string, error) { <-release; return v, err }
	}
	// k1 runs on the one worker, k2 waits in the one-slot queue, k3 is
	// dropped; each caller gets the stale value at once.
	creators := map[string]func(context.Context) (string, error){
		"k1": blocked("new", nil), "k2": blocked("", errBroken), "k3": blocked("new", nil),
	}
	for i, k := range []string{"k1", "k2", "k3"} {
		if v, err := region.GetOrCreate(ctx, reports, k, creators[k]); v != "old" || err != nil {
			t.Fatalf("GetOrCreate(%s) = %q, %v; want the stale value", k, v, err)
		}
		waitFor(t, k+" handed to the pool", func() bool {
			s := reports.Stats()
			return s.AsyncQueued+s.AsyncRejected == int64(i+1)
		})
	}
	expectSeries(t, scrape(t, reg), map[string]string{
		`dogpile_pool_tasks_queued{pool="reports"}`:             "1",
		`dogpile_pool_tasks_running{pool="reports"}`:            "1",
		`dogpile_pool_tasks_done_total{pool="reports"}`:         "0",
		`dogpile_pool_tasks_failed_total{pool="reports"}`:       "0",
		`dogpile_pool_tasks_dropped_total{pool="reports"}`:      "1",
		`dogpile_region_async_queued_total{region="reports"}`:   "2",
		`dogpile_region_async_rejected_total{region="reports"}`: "1",
		`dogpile_region_stale_served_total{region="reports"}`:   "3",
	})

	close(release)
	waitFor(t, "the pool to finish", func() bool {
		s := pool.Stats()
		return s.Done == 2 && s.Running == 0
	})
	expectSeries(t, scrape(t, reg), map[string]string{
		`dogpile_pool_tasks_queued{pool="reports"}`:                                       "0",
		`dogpile_pool_tasks_running{pool="reports"}`:                                      "0",
		`dogpile_pool_tasks_done_total{pool="reports"}`:                                   "2",
		`dogpile_pool_tasks_failed_total{pool="reports"}`:                                 "1",
		`dogpile_pool_tasks_dropped_total{pool="reports"}`:                                "1",
		`dogpile_region_creation_duration_seconds_count{region="reports",result="ok"}`:    "1",
		`dogpile_region_creation_duration_seconds_count{region="reports",result="error"}`: "1",
	})
	if err := pool.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestTagsMetrics(t *testing.T) {
	mem, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	store := &flakyStore{Store: mem}
	// A long retry pause keeps the failed bump owed while the test looks.
	tags, err := invalidation.NewTags(store, invalidation.Options{RetryMin: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c := dogpileprom.NewCollector(dogpileprom.Options{})
	if err := c.AddTags("orders", tags); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	ctx := context.Background()

	expectSeries(t, scrape(t, reg), map[string]string{
		`dogpile_invalidation_tags_held{tags="orders"}`:       "0",
		`dogpile_invalidation_operations_owed{tags="orders"}`: "0",
	})

	ws := tags.Begin()
	if err := ws.Touch(ctx, "orders", "lines"); err != nil {
		t.Fatal(err)
	}
	store.fail.Store(true)
	if err := tags.Invalidate(ctx, "stock"); !errors.Is(err, invalidation.ErrDeferred) {
		t.Fatalf("Invalidate on a failing store = %v, want ErrDeferred", err)
	}
	expectSeries(t, scrape(t, reg), map[string]string{
		`dogpile_invalidation_tags_held{tags="orders"}`:       "3",
		`dogpile_invalidation_operations_owed{tags="orders"}`: "1",
	})

	store.fail.Store(false)
	if err := ws.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tags.Close(ctx); err != nil { // delivers the owed bump
		t.Fatal(err)
	}
	expectSeries(t, scrape(t, reg), map[string]string{
		`dogpile_invalidation_tags_held{tags="orders"}`:       "0",
		`dogpile_invalidation_operations_owed{tags="orders"}`: "0",
	})
}

func TestLockWaitHistogram(t *testing.T) {
	c := dogpileprom.NewCollector(dogpileprom.Options{LockWaitBuckets: []float64{0.001, 1, 60}})
	r, _ := newRegion(t, "slow", region.WithObserver(c.Observer()))
	if err := c.AddRegion(r); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)

	started, release := make(chan struct{}), make(chan struct{})
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Go(func() {
		_, _ = region.GetOrCreate(ctx, r, "k", func(context.Context) (string, error) {
			close(started)
			<-release
			return "v", nil
		})
	})
	<-started
	const waiters = 3
	for range waiters {
		wg.Go(func() {
			if v, err := region.GetOrCreate(ctx, r, "k", value("unused")); v != "v" || err != nil {
				t.Errorf("waiter got %q, %v", v, err)
			}
		})
	}
	waitFor(t, "the waiters to wait", func() bool { return r.Stats().LockWaits == waiters })
	time.Sleep(5 * time.Millisecond) // so that each wait is over the first bucket
	close(release)
	wg.Wait()

	expectSeries(t, scrape(t, reg), map[string]string{
		`dogpile_region_lock_waits_total{region="slow"}`:                             "3",
		`dogpile_region_remote_lock_waits_total{region="slow"}`:                      "0",
		`dogpile_region_lock_wait_duration_seconds_count{region="slow"}`:             "3",
		`dogpile_region_lock_wait_duration_seconds_bucket{region="slow",le="0.001"}`: "0",
		`dogpile_region_lock_wait_duration_seconds_bucket{region="slow",le="60"}`:    "3",
	})
}

// fakeDB is what AddDB reads of a *cachedsql.DB.
type fakeDB struct {
	r *region.Region
	t *invalidation.Tags
}

func (db fakeDB) Region() *region.Region   { return db.r }
func (db fakeDB) Tags() *invalidation.Tags { return db.t }

func newTags(t *testing.T) *invalidation.Tags {
	t.Helper()
	mem, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tags, err := invalidation.NewTags(mem, invalidation.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tags.Close(context.Background()) })
	return tags
}

func newPool(t *testing.T) *region.Pool {
	t.Helper()
	p, err := region.NewPool(region.PoolOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

func TestAddDB(t *testing.T) {
	shared := newPool(t)
	ordersRegion, _ := newRegion(t, "cachedsql:orders", region.WithRunner(shared))
	usersRegion, _ := newRegion(t, "cachedsql:users", region.WithRunner(shared))
	orders := fakeDB{ordersRegion, newTags(t)}
	users := fakeDB{usersRegion, newTags(t)}

	c := dogpileprom.NewCollector(dogpileprom.Options{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	for _, db := range []fakeDB{orders, users, orders} {
		if err := c.AddDB(db); err != nil {
			t.Fatalf("AddDB(%s): %v", db.r.Name(), err)
		}
	}
	got := scrape(t, reg)
	expectSeries(t, got, map[string]string{
		`dogpile_region_hits_total{region="cachedsql:orders"}`:         "0",
		`dogpile_region_hits_total{region="cachedsql:users"}`:          "0",
		`dogpile_pool_tasks_done_total{pool="cachedsql:orders"}`:       "0",
		`dogpile_invalidation_tags_held{tags="cachedsql:orders"}`:      "0",
		`dogpile_invalidation_tags_held{tags="cachedsql:users"}`:       "0",
		`dogpile_invalidation_operations_owed{tags="cachedsql:users"}`: "0",
	})
	if _, ok := got[`dogpile_pool_tasks_done_total{pool="cachedsql:users"}`]; ok {
		t.Error("a pool shared by two databases is collected twice")
	}

	// A database whose region's name is taken adds nothing.
	clash, _ := newRegion(t, "cachedsql:orders")
	if err := c.AddDB(fakeDB{clash, newTags(t)}); !errors.Is(err, dogpileprom.ErrDuplicate) {
		t.Fatalf("AddDB of a taken name = %v, want ErrDuplicate", err)
	}
	if n, err := testutil.GatherAndCount(reg, "dogpile_invalidation_tags_held"); err != nil || n != 2 {
		t.Fatalf("tags_held series = %d, %v; want 2", n, err)
	}
}

func TestAddDuplicates(t *testing.T) {
	r1, _ := newRegion(t, "users")
	r2, _ := newRegion(t, "users")
	p1, p2 := newPool(t), newPool(t)
	t1, t2 := newTags(t), newTags(t)
	for _, tc := range []struct {
		name    string
		add     func(*dogpileprom.Collector) error
		wantErr error
	}{
		{"region again", func(c *dogpileprom.Collector) error { return c.AddRegion(r1) }, nil},
		{"another region of the name", func(c *dogpileprom.Collector) error { return c.AddRegion(r2) }, dogpileprom.ErrDuplicate},
		{"pool again", func(c *dogpileprom.Collector) error { return c.AddPool("users", p1) }, nil},
		{"another pool of the name", func(c *dogpileprom.Collector) error { return c.AddPool("users", p2) }, dogpileprom.ErrDuplicate},
		{"the pool under another name", func(c *dogpileprom.Collector) error { return c.AddPool("other", p1) }, dogpileprom.ErrDuplicate},
		{"another pool under another name", func(c *dogpileprom.Collector) error { return c.AddPool("other", p2) }, nil},
		{"tags again", func(c *dogpileprom.Collector) error { return c.AddTags("users", t1) }, nil},
		{"other tags of the name", func(c *dogpileprom.Collector) error { return c.AddTags("users", t2) }, dogpileprom.ErrDuplicate},
		{"the tags under another name", func(c *dogpileprom.Collector) error { return c.AddTags("other", t1) }, dogpileprom.ErrDuplicate},
		{"other tags under another name", func(c *dogpileprom.Collector) error { return c.AddTags("other", t2) }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dogpileprom.NewCollector(dogpileprom.Options{})
			if err := errors.Join(c.AddRegion(r1), c.AddPool("users", p1), c.AddTags("users", t1)); err != nil {
				t.Fatal(err)
			}
			if err := tc.add(c); !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Fatalf("got %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestRemove(t *testing.T) {
	c := dogpileprom.NewCollector(dogpileprom.Options{})
	users, _ := newRegion(t, "users", region.WithObserver(c.Observer()))
	if err := errors.Join(c.AddRegion(users), c.AddPool("users", newPool(t)), c.AddTags("users", newTags(t))); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	if _, err := region.GetOrCreate(context.Background(), users, "k", value("v")); err != nil {
		t.Fatal(err)
	}
	if n := len(scrape(t, reg)); n == 0 {
		t.Fatal("no series before Remove")
	}
	if !c.Remove("users") {
		t.Fatal("Remove(users) = false")
	}
	if got := scrape(t, reg); len(got) != 0 {
		t.Fatalf("series left after Remove: %v", got)
	}
	if c.Remove("users") {
		t.Fatal("second Remove(users) = true")
	}
	// The name is free again.
	other, _ := newRegion(t, "users")
	if err := c.AddRegion(other); err != nil {
		t.Fatal(err)
	}
}

func TestRegisterRefusesBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		o       dogpileprom.Options
		wantErr error // nil: any error
	}{
		{"creation buckets not increasing", dogpileprom.Options{CreationBuckets: []float64{1, 0.5}}, dogpileprom.ErrBadOptions},
		{"lock-wait buckets repeated", dogpileprom.Options{LockWaitBuckets: []float64{1, 1}}, dogpileprom.ErrBadOptions},
		{"const label the collector sets", dogpileprom.Options{ConstLabels: prometheus.Labels{"region": "x"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := prometheus.NewRegistry().Register(dogpileprom.NewCollector(tc.o))
			if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Fatalf("Register = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestExemplar(t *testing.T) {
	type traceKey struct{}
	c := dogpileprom.NewCollector(dogpileprom.Options{
		Exemplar: func(ctx context.Context) prometheus.Labels {
			if id, ok := ctx.Value(traceKey{}).(string); ok {
				return prometheus.Labels{"trace_id": id}
			}
			return nil
		},
	})
	r, _ := newRegion(t, "users", region.WithObserver(c.Observer()))
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	ctx := context.WithValue(context.Background(), traceKey{}, "4bf92f3577b34da6a3ce929d0e0e4736")
	if _, err := region.GetOrCreate(ctx, r, "traced", value("v")); err != nil {
		t.Fatal(err)
	}
	if _, err := region.GetOrCreate(context.Background(), r, "untraced", value("v")); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var exemplars []string
	for _, f := range families {
		if f.GetName() != "dogpile_region_creation_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			if m.GetHistogram().GetSampleCount() != 2 {
				t.Errorf("sample count = %d, want 2", m.GetHistogram().GetSampleCount())
			}
			for _, b := range m.GetHistogram().GetBucket() {
				for _, l := range b.GetExemplar().GetLabel() {
					exemplars = append(exemplars, l.GetName()+"="+l.GetValue())
				}
			}
		}
	}
	if len(exemplars) != 1 || exemplars[0] != "trace_id=4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("exemplars = %v, want the traced creation's alone", exemplars)
	}
}

func TestCollectAndLint(t *testing.T) {
	c := dogpileprom.NewCollector(dogpileprom.Options{})
	users, clk := newRegion(t, "users", region.WithObserver(c.Observer()))
	if err := errors.Join(c.AddRegion(users), c.AddPool("users", newPool(t)), c.AddTags("users", newTags(t))); err != nil {
		t.Fatal(err)
	}
	driveRegion(t, users, clk)
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	// 12 region counters, 5 pool series, 2 tag-protocol series, and a
	// creation histogram with two series.
	if n := testutil.CollectAndCount(c); n != 21 {
		t.Errorf("CollectAndCount = %d, want 21", n)
	}
}

// TestConcurrentUse runs lookups, creations, adds and scrapes at once, for
// the race detector.
func TestConcurrentUse(t *testing.T) {
	c := dogpileprom.NewCollector(dogpileprom.Options{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 4 {
		r, _ := newRegion(t, "r"+string(rune('0'+i)), region.WithObserver(c.Observer()))
		wg.Go(func() {
			_ = c.AddRegion(r)
			for j := range 200 {
				key := string(rune('a' + j%5))
				_, _ = region.GetOrCreate(ctx, r, key, value("v"))
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if _, err := reg.Gather(); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	got := scrape(t, reg)
	for i := range 4 {
		name := "r" + string(rune('0'+i))
		expectSeries(t, got, map[string]string{
			`dogpile_region_hits_total{region="` + name + `"}`:                                  "195",
			`dogpile_region_creation_duration_seconds_count{region="` + name + `",result="ok"}`: "5",
		})
	}
}
