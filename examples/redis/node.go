package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/redis"
	"github.com/dogpile-go/dogpile/backend/tiered"
	"github.com/dogpile-go/dogpile/cachedsql"
	"github.com/dogpile-go/dogpile/invalidation"
	"github.com/dogpile-go/dogpile/region"
)

// The statements every process runs. Placeholders are $1, $2 …:
// PostgreSQL's, which SQLite accepts too.
const (
	itemName   = "SELECT name FROM redis_example_items WHERE id = $1"
	itemCount  = "SELECT count(*) FROM redis_example_items"
	renameItem = "UPDATE redis_example_items SET name = $1 WHERE id = $2"
)

// setup is what every process of a run shares: where Redis and the
// database are, and the prefix that keeps this run's keys apart from
// anything else in that Redis. The parent hands it to its workers.
type setup struct {
	RedisURL  string `json:"redis_url"`
	Driver    string `json:"driver"` // "sqlite" or "pgx"
	DSN       string `json:"dsn"`
	KeyPrefix string `json:"key_prefix"`
}

// node is one process of the example: a cachedsql.DB caching on the
// two-tier store, with the shared invalidation strategy.
// The parent (A) holds one, and so does each worker (B, C). Its methods
// are called one at a time.
type node struct {
	name   string
	prefix string // the run's key prefix in Redis
	db     *cachedsql.DB
	store  *tiered.Store
	shared *invalidation.Shared

	// marks counts, per other process, the marks this one received from
	// it (see mark); unwatch stops the counting.
	marks   map[string]*atomic.Int64
	unwatch []func()

	// The stampede under way, between stampede and stampedeDone.
	wg     sync.WaitGroup
	counts []int
	errs   []error
	before region.Stats
}

// openNode makes a process's cache and DB, and waits until its store is
// subscribed to the invalidation channel (until then the store bypasses
// its memory tier). observer, when not nil, is told of the region's
// events (the Prometheus collector's, in the parent).
func openNode(ctx context.Context, name string, s setup, observer region.Observer) (n *node, err error) {
	n = &node{name: name, prefix: s.KeyPrefix, marks: map[string]*atomic.Int64{}}
	defer func() {
		if err != nil {
			n.close()
		}
	}()
	report := func(err error) { fmt.Fprintf(os.Stderr, "process %s: %v\n", name, err) }

	// The two-tier store: a memory tier in this process in front of
	// Redis, kept coherent with the other processes over pub/sub. Strict
	// coherence (the default, spelt out): a memory hit of a tagged entry,
	// which every cached query is, is checked against the tag versions in
	// Redis, so a commit in any process is seen by the next read here.
	n.store, err = tiered.New(tiered.Options{
		Redis:     &redis.Options{URL: s.RedisURL, KeyPrefix: s.KeyPrefix, LockPrefix: lockPrefix},
		MaxBytes:  16 << 20,
		Coherence: tiered.Strict,
		OnError:   report,
	})
	if err != nil {
		return nil, err
	}
	// Region-wide invalidation that every process honours: its times live
	// in the store, and the tiered store tells the other processes of a
	// change at once (it is an invalidation.KeyWatcher). The poll is only
	// the fallback for a lost message, hence the long interval.
	n.shared, err = invalidation.NewShared(n.store, "redis_example:invalidation", invalidation.SharedOptions{
		Interval: time.Minute,
		OnError:  report,
	})
	if err != nil {
		return nil, err
	}
	// The DB caches in a region of its own on the store, as it would with
	// no options but WithBackend, except that its region-wide
	// invalidation is the shared strategy.
	n.db, err = cachedsql.ConnectContext(ctx, s.Driver, s.DSN,
		cachedsql.WithBackend(n.store),
		cachedsql.WithInvalidation(n.shared),
		cachedsql.WithNamespace("redis_example"),
		cachedsql.WithObserver(observer),
		cachedsql.WithErrorHandler(report),
	)
	if err != nil {
		return nil, err
	}
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := n.store.WaitHealthy(wait); err != nil {
		return nil, fmt.Errorf("process %s: the store did not subscribe to its channel in Redis: %w", name, err)
	}
	for _, other := range processNames {
		if other != name {
			c := new(atomic.Int64)
			n.marks[other] = c
			n.unwatch = append(n.unwatch, n.store.WatchKey(markKey(other), func() { c.Add(1) }))
		}
	}
	return n, nil
}

// close closes what openNode made, the DB first (it delivers the
// invalidations it still owes through its tags and the store).
func (n *node) close() error {
	for _, stop := range n.unwatch {
		stop()
	}
	var errs []error
	if n.db != nil {
		errs = append(errs, n.db.Close())
	}
	if n.shared != nil {
		errs = append(errs, n.shared.Close())
	}
	if n.store != nil {
		errs = append(errs, n.store.Close())
	}
	return errors.Join(errs...)
}

// read reads an item's name and says where it came from, judged by the
// counters of the region and of the store around the read.
func (n *node) read(ctx context.Context, id int) (name, from string, err error) {
	r, s := n.db.Region().Stats(), n.store.Stats()
	if err := n.db.GetContext(ctx, &name, itemName, id); err != nil {
		return "", "", err
	}
	r2, s2 := n.db.Region().Stats(), n.store.Stats()
	switch {
	case r2.Created > r.Created:
		from = "the database ran the query"
	case s2.NearHits > s.NearHits && s2.NearMisses == s.NearMisses && s2.TagChecks > s.TagChecks:
		from = n.name + "'s memory tier, tag versions checked in Redis"
	case s2.NearMisses > s.NearMisses:
		from = "from Redis, now in " + n.name + "'s memory tier too"
	default:
		from = "from Redis"
	}
	return name, from, nil
}

// rename writes an item's name through the DB, which invalidates every
// cached read of the table in every process before it returns.
func (n *node) rename(ctx context.Context, id int, name string) error {
	_, err := n.db.ExecContext(ctx, renameItem, name, id)
	return err
}

// invalidate hard-invalidates the whole region, in every process, and
// returns the time of the invalidation.
func (n *node) invalidate(ctx context.Context) (hard int64, err error) {
	if err := n.db.Region().Invalidate(ctx, true); err != nil {
		return 0, err
	}
	h, _ := n.shared.Times()
	return h.UnixNano(), nil
}

// awaitInvalidation waits until this process knows of a hard invalidation
// made at hard (in nanoseconds) or later.
func (n *node) awaitInvalidation(ctx context.Context, hard int64) error {
	return poll(ctx, 5*time.Second, func() (bool, string) {
		h, _ := n.shared.Times()
		return h.UnixNano() >= hard, fmt.Sprintf("process %s did not learn of the region's invalidation (its last is %v)", n.name, h)
	})
}

// stampede starts goroutines that all ask for the item count at once, and
// returns when every one of them has looked in the cache and is waiting
// for the one creation: in this process, whose creator (the first
// goroutine) holds the key's creation lock in Redis when leader is set,
// or otherwise in another process, whose lock this one's first goroutine
// waits on.
func (n *node) stampede(ctx context.Context, goroutines int, leader bool) error {
	n.before = n.db.Region().Stats()
	n.counts, n.errs = make([]int, goroutines), make([]error, goroutines)
	for i := range goroutines {
		n.wg.Go(func() { n.errs[i] = n.db.GetContext(ctx, &n.counts[i], itemCount) })
	}
	// Each goroutine counts a miss; every one but the first then waits
	// for the first's creation in this process, and the first takes the
	// creation lock in Redis or, when another process holds it, waits for
	// it (a lock wait too).
	wantWaits := int64(goroutines)
	if leader {
		wantWaits--
	}
	return poll(ctx, 10*time.Second, func() (bool, string) {
		st := n.db.Region().Stats()
		misses, waits := st.Misses-n.before.Misses, st.LockWaits-n.before.LockWaits
		ok := misses == int64(goroutines) && waits == wantWaits
		if ok && leader {
			held, err := n.lockHeld(ctx)
			ok = held && err == nil
		}
		return ok, fmt.Sprintf("process %s: %d goroutines: %d misses, %d lock waits", n.name, goroutines, misses, waits)
	})
}

// stampedeDone waits for the stampede's goroutines and returns the count
// they all got and the number of queries this process ran.
func (n *node) stampedeDone() (count int, queries int64, err error) {
	n.wg.Wait()
	if err := errors.Join(n.errs...); err != nil {
		return 0, 0, err
	}
	for _, c := range n.counts {
		if c != n.counts[0] {
			return 0, 0, fmt.Errorf("process %s: the goroutines got different counts: %v", n.name, n.counts)
		}
	}
	return n.counts[0], n.db.Region().Stats().Created - n.before.Created, nil
}

// The example's output says for certain where each value came from and
// where it went. A pub/sub message that reaches a process late, while it
// reads the key the message is about, makes it drop what it read instead
// of keeping it in its memory tier (it cannot tell whether the message is
// about a write before its read or after). So before a process reads a
// key another has just written, the example waits until that process has
// received every message the other sent so far: the other writes a mark,
// whose message, published after all of its earlier ones, reaches each
// subscriber after them. A real program needs no such wait: a dropped
// copy only costs a trip to Redis.

// markKey is the key process name writes its marks under.
func markKey(name string) string { return "redis_example:mark:" + name }

// mark writes this process's mark: every other process is told of it, on
// the channel, after every message this one sent before.
func (n *node) mark(ctx context.Context) error {
	return n.store.SetWithTTL(ctx, markKey(n.name), backend.Entry{Data: []byte(n.name)}, time.Minute)
}

// markCounts returns how many marks this process has received from each
// other process.
func (n *node) markCounts() map[string]int64 {
	out := make(map[string]int64, len(n.marks))
	for name, c := range n.marks {
		out[name] = c.Load()
	}
	return out
}

// awaitMarks waits until this process has received a mark from each of
// the processes in since beyond the number given there.
func (n *node) awaitMarks(ctx context.Context, since map[string]int64) error {
	return poll(ctx, 5*time.Second, func() (bool, string) {
		for name, seen := range since {
			c, ok := n.marks[name]
			if !ok {
				return false, fmt.Sprintf("process %s counts no marks of process %q", n.name, name)
			}
			if c.Load() <= seen {
				return false, fmt.Sprintf("process %s has had no mark from process %s", n.name, name)
			}
		}
		return true, ""
	})
}

// lockPrefix names the creation locks in Redis (after the key prefix).
const lockPrefix = "lock:"

// lockHeld reports whether some creation lock of this run is held in
// Redis. (cachedsql does not tell a query's cache key, which
// region.Region.KeyIsLocked would need; in this run only one lock can be
// held at a time.)
func (n *node) lockHeld(ctx context.Context) (bool, error) {
	it := n.store.Far().Client().Scan(ctx, 0, n.prefix+lockPrefix+"*", 1000).Iterator()
	held := it.Next(ctx)
	return held, it.Err()
}

// poll calls cond until it holds, for at most limit; the error carries
// what cond said last.
func poll(ctx context.Context, limit time.Duration, cond func() (bool, string)) error {
	deadline := time.Now().Add(limit)
	for {
		ok, state := cond()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gave up after %v: %s", limit, state)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}
