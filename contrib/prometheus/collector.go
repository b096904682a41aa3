package dogpileprom

import (
	"context"
	"fmt"
	"maps"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dogpile-go/dogpile/invalidation"
	"github.com/dogpile-go/dogpile/region"
)

// Collector is a prometheus.Collector of the metrics of regions, async
// pools and tag protocols. Counters and gauges are read from their sources
// when Prometheus scrapes (one [region.Region.Stats] snapshot per region,
// so a region's series agree with each other); the latency histograms are
// fed by the region observer [Collector.Observer] returns.
//
// Sources can be added and removed at any time, before or after the
// collector is registered. A Collector is safe for concurrent use by
// multiple goroutines.
type Collector struct {
	// Set by NewCollector and read-only afterwards.
	err      error                                   // what is wrong with the options; reported by Describe
	exemplar func(context.Context) prometheus.Labels // nil: none
	regionC  []regionCounter
	poolQueued, poolRunning,
	poolDone, poolFailed, poolDropped *prometheus.Desc
	tagsHeld, opsOwed  *prometheus.Desc
	creation, lockWait *prometheus.HistogramVec
	observer           region.Observer

	mu      sync.RWMutex
	regions map[string]*region.Region     // by name; guarded by mu
	pools   map[string]*region.Pool       // by name; guarded by mu
	tags    map[string]*invalidation.Tags // by name; guarded by mu
}

// regionCounter is one counter of [region.Stats].
type regionCounter struct {
	desc  *prometheus.Desc
	value func(region.Stats) int64
}

// Label names the collector sets.
const (
	labelRegion = "region"
	labelPool   = "pool"
	labelTags   = "tags"
	labelResult = "result"
)

// NewCollector makes a collector with no sources. What is wrong with o,
// if anything (an error wrapping [ErrBadOptions], or a metric or label
// name Prometheus refuses), is returned by prometheus.Register.
func NewCollector(o Options) *Collector {
	o, err := o.withDefaults()
	ns, cl := o.Namespace, o.ConstLabels
	desc := func(subsystem, name, help string, label string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(ns, subsystem, name), help, []string{label}, cl)
	}
	counter := func(name, help string, value func(region.Stats) int64) regionCounter {
		return regionCounter{desc("region", name, help, labelRegion), value}
	}
	c := &Collector{
		err: err,
		regionC: []regionCounter{
			counter("hits_total", "Lookups answered with a fresh value.",
				func(s region.Stats) int64 { return s.Hits }),
			counter("misses_total", "Lookups that found no usable value (none, another format version, hard-invalidated, undecodable, or a backend error).",
				func(s region.Stats) int64 { return s.Misses }),
			counter("stale_served_total", "Stale values returned while a new one was being made.",
				func(s region.Stats) int64 { return s.StaleServed }),
			counter("creations_total", "Creator calls that returned a value.",
				func(s region.Stats) int64 { return s.Created }),
			counter("creation_errors_total", "Creator calls that returned an error or panicked.",
				func(s region.Stats) int64 { return s.CreateErrors }),
			counter("lock_waits_total", "Times a caller waited for another's creation, in this process or through the backend's lock.",
				func(s region.Stats) int64 { return s.LockWaits }),
			counter("remote_lock_waits_total", "Those of lock_waits_total spent on the backend's lock, waiting for another process's creation.",
				func(s region.Stats) int64 { return s.RemoteLockWaits }),
			counter("backend_errors_total", "Failed backend calls (get, set, delete, lock).",
				func(s region.Stats) int64 { return s.BackendErrors }),
			counter("decode_errors_total", "Stored values that could not be decoded and were treated as misses.",
				func(s region.Stats) int64 { return s.DecodeErrors }),
			counter("invalidations_total", "Calls of Invalidate on the region.",
				func(s region.Stats) int64 { return s.Invalidations }),
			counter("async_queued_total", "Creations handed to the async runner.",
				func(s region.Stats) int64 { return s.AsyncQueued }),
			counter("async_rejected_total", "Creations the async runner would not take (queue full or closed); the stale value was served.",
				func(s region.Stats) int64 { return s.AsyncRejected }),
		},
		poolQueued:  desc("pool", "tasks_queued", "Creations waiting for a worker of the async pool.", labelPool),
		poolRunning: desc("pool", "tasks_running", "Creations running on the async pool's workers.", labelPool),
		poolDone:    desc("pool", "tasks_done_total", "Creations the async pool finished, successfully or not.", labelPool),
		poolFailed:  desc("pool", "tasks_failed_total", "Creations on the async pool that returned an error or panicked.", labelPool),
		poolDropped: desc("pool", "tasks_dropped_total", "Creations the async pool refused because its queue was full.", labelPool),
		tagsHeld:    desc("invalidation", "tags_held", "Tags this process treats as pending on its own: those of open write sets and of bumps it still owes.", labelTags),
		opsOwed:     desc("invalidation", "operations_owed", "Tag bumps and releases the store refused, waiting to be retried.", labelTags),
		creation: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: "region", Name: "creation_duration_seconds",
			Help:        "Time creator calls took; result is ok or error. Fed by the collector's region observer.",
			ConstLabels: cl, Buckets: o.CreationBuckets,
		}, []string{labelRegion, labelResult}),
		lockWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: "region", Name: "lock_wait_duration_seconds",
			Help:        "Time callers waited for another's creation, for waits that ended with the creation. Fed by the collector's region observer.",
			ConstLabels: cl, Buckets: o.LockWaitBuckets,
		}, []string{labelRegion}),
		regions: map[string]*region.Region{},
		pools:   map[string]*region.Pool{},
		tags:    map[string]*invalidation.Tags{},
	}
	c.exemplar = o.Exemplar
	c.observer = observer{c}
	return c
}

// DB is what [Collector.AddDB] needs of a database; *cachedsql.DB has it
// (the interface spares programs that use regions alone from importing
// package cachedsql).
type DB interface {
	// Region returns the region the database caches in.
	Region() *region.Region
	// Tags returns the tag protocol it invalidates through, or nil.
	Tags() *invalidation.Tags
}

// AddRegion collects r's counters, labelled with its name. Adding r again
// does nothing; adding another region of the same name returns an error
// wrapping [ErrDuplicate]. Give r the collector's [Collector.Observer] as
// well (with [region.WithObserver]) for the latency histograms.
func (c *Collector) AddRegion(r *region.Region) error {
	if r == nil {
		return errNil("region")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return addLocked(c.regions, "region", r.Name(), r)
}

// AddPool collects the gauges and counters of an async creation pool,
// labelled pool=name: conventionally the name of the region it serves, or
// of the group of regions that share it. Adding p again under the same
// name does nothing; adding another pool under that name, or p under
// another name (its counts would be summed twice), is an error wrapping
// [ErrDuplicate].
func (c *Collector) AddPool(name string, p *region.Pool) error {
	if p == nil {
		return errNil("pool")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return addLocked(c.pools, "pool", name, p)
}

// AddTags collects the state of a tag protocol (tags held, operations
// owed), labelled tags=name: conventionally the name of the region it
// serves. Adding t again under the same name does nothing; adding another
// protocol under that name, or t under another name, is an error wrapping
// [ErrDuplicate].
func (c *Collector) AddTags(name string, t *invalidation.Tags) error {
	if t == nil {
		return errNil("tag protocol")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return addLocked(c.tags, "tag protocol", name, t)
}

// AddDB collects everything of a database (a *cachedsql.DB) under its
// region's name: its region, its region's async runner when that is a
// [region.Pool], and its tag protocol. A pool or protocol already added
// (under any name, as when several databases share one pool) is left as it
// is. On error nothing is added.
func (c *Collector) AddDB(db DB) error {
	if db == nil {
		return errNil("database")
	}
	r, t := db.Region(), db.Tags()
	if r == nil {
		return errNil("region")
	}
	name := r.Name()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := checkLocked(c.regions, "region", name, r); err != nil {
		return err
	}
	p, _ := r.Runner().(*region.Pool)
	if p != nil && !containsValue(c.pools, p) {
		if err := checkLocked(c.pools, "pool", name, p); err != nil {
			return err
		}
	} else {
		p = nil
	}
	if t != nil && !containsValue(c.tags, t) {
		if err := checkLocked(c.tags, "tag protocol", name, t); err != nil {
			return err
		}
	} else {
		t = nil
	}
	c.regions[name] = r
	if p != nil {
		c.pools[name] = p
	}
	if t != nil {
		c.tags[name] = t
	}
	return nil
}

// Remove stops collecting the region, the pool and the tag protocol added
// under name, and deletes the region's latency series. It reports whether
// anything was removed. A region removed but still reporting to the
// collector's observer brings its latency series back.
func (c *Collector) Remove(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, r := c.regions[name]
	_, p := c.pools[name]
	_, t := c.tags[name]
	delete(c.regions, name)
	delete(c.pools, name)
	delete(c.tags, name)
	n := c.creation.DeletePartialMatch(prometheus.Labels{labelRegion: name})
	n += c.lockWait.DeletePartialMatch(prometheus.Labels{labelRegion: name})
	return r || p || t || n > 0
}

// Observer returns the region observer that feeds the collector's latency
// histograms (creations and lock waits), labelled with the region of each
// event. It ignores every other event: the counters come from the regions'
// Stats. It is the same observer on every call; regions may share it,
// whether they were added to the collector or not.
func (c *Collector) Observer() region.Observer { return c.observer }

// Describe sends the descriptors of every metric the collector can give,
// or, when its options are wrong, an invalid descriptor saying why.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	if c.err != nil {
		ch <- prometheus.NewInvalidDesc(c.err)
		return
	}
	for _, rc := range c.regionC {
		ch <- rc.desc
	}
	for _, d := range []*prometheus.Desc{c.poolQueued, c.poolRunning, c.poolDone, c.poolFailed, c.poolDropped, c.tagsHeld, c.opsOwed} {
		ch <- d
	}
	c.creation.Describe(ch)
	c.lockWait.Describe(ch)
}

// Collect reads the sources and sends their metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.RLock()
	regions := maps.Clone(c.regions)
	pools := maps.Clone(c.pools)
	tags := maps.Clone(c.tags)
	c.mu.RUnlock()

	for name, r := range regions {
		s := r.Stats()
		for _, rc := range c.regionC {
			ch <- prometheus.MustNewConstMetric(rc.desc, prometheus.CounterValue, float64(rc.value(s)), name)
		}
	}
	for name, p := range pools {
		s := p.Stats()
		ch <- prometheus.MustNewConstMetric(c.poolQueued, prometheus.GaugeValue, float64(s.Queued), name)
		ch <- prometheus.MustNewConstMetric(c.poolRunning, prometheus.GaugeValue, float64(s.Running), name)
		ch <- prometheus.MustNewConstMetric(c.poolDone, prometheus.CounterValue, float64(s.Done), name)
		ch <- prometheus.MustNewConstMetric(c.poolFailed, prometheus.CounterValue, float64(s.Failed), name)
		ch <- prometheus.MustNewConstMetric(c.poolDropped, prometheus.CounterValue, float64(s.Dropped), name)
	}
	for name, t := range tags {
		ch <- prometheus.MustNewConstMetric(c.tagsHeld, prometheus.GaugeValue, float64(len(t.Held())), name)
		ch <- prometheus.MustNewConstMetric(c.opsOwed, prometheus.GaugeValue, float64(t.Owed()), name)
	}
	c.creation.Collect(ch)
	c.lockWait.Collect(ch)
}

// checkLocked returns an error wrapping ErrDuplicate if another value than
// v is in m under name, or v under another name: the first would give
// clashing series, the second the same counts twice.
func checkLocked[V comparable](m map[string]V, kind, name string, v V) error {
	if old, ok := m[name]; ok {
		if old != v {
			return fmt.Errorf("%w: another %s is added as %q; Remove it first or use another name", ErrDuplicate, kind, name)
		}
		return nil
	}
	for other, x := range m {
		if x == v {
			return fmt.Errorf("%w: the %s is already added as %q", ErrDuplicate, kind, other)
		}
	}
	return nil
}

func addLocked[V comparable](m map[string]V, kind, name string, v V) error {
	if err := checkLocked(m, kind, name, v); err != nil {
		return err
	}
	m[name] = v
	return nil
}

// errNil is the error of adding a nil source, which would make every
// scrape fail.
func errNil(kind string) error { return fmt.Errorf("%w: nil %s", ErrBadSource, kind) }

func containsValue[V comparable](m map[string]V, v V) bool {
	for _, x := range m {
		if x == v {
			return true
		}
	}
	return false
}

var _ prometheus.Collector = (*Collector)(nil)
