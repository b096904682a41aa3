package consistency_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dogpile-go/dogpile/region"
)

// Op is one operation of a history, on one key. A transaction that wrote
// several keys is one Op per key, with the same times and Tx; a read of
// every key is one Op per key, with the same times and All set.
type Op struct {
	Proc    int   `json:"p"`           // the process that ran it
	Client  int   `json:"c"`           // the goroutine, numbered across processes
	Write   bool  `json:"w,omitempty"` // a committed write; else a read
	Key     int   `json:"k"`
	Value   int64 `json:"v"`            // written, or read
	Call    int64 `json:"s"`            // invoked, ns on the history's clock
	Return  int64 `json:"e"`            // returned, ns on the history's clock
	Tx      int64 `json:"tx,omitempty"` // a write's transaction: the first value it wrote
	Auto    bool  `json:"a,omitempty"`  // a write outside a transaction (db.Exec)
	All     bool  `json:"all,omitempty"`
	Queried bool  `json:"q,omitempty"` // a read that ran its own query on PostgreSQL
}

// Counts are what a run did, besides its history.
type Counts struct {
	Transactions int64 // begun, committed or rolled back
	Commits      int64 // committed transactions
	Rollbacks    int64 // transactions rolled back on purpose
	Autocommits  int64 // writes outside a transaction
	ReadsOne     int64 // reads of one key
	ReadsAll     int64 // reads of every key
	DBQueries    int64 // reads' queries that reached PostgreSQL
	Queried      int64 // reads that ran their own query (the others were hits or waited for one)
	region.Stats       // the cache's counters
}

func (c *Counts) add(o Counts) {
	c.Transactions += o.Transactions
	c.Commits += o.Commits
	c.Rollbacks += o.Rollbacks
	c.Autocommits += o.Autocommits
	c.ReadsOne += o.ReadsOne
	c.ReadsAll += o.ReadsAll
	c.DBQueries += o.DBQueries
	c.Queried += o.Queried
	c.Hits += o.Hits
	c.Misses += o.Misses
	c.StaleServed += o.StaleServed
	c.Created += o.Created
	c.CreateErrors += o.CreateErrors
	c.LockWaits += o.LockWaits
	c.BackendErrors += o.BackendErrors
	c.DecodeErrors += o.DecodeErrors
}

// Reads returns the number of read calls.
func (c Counts) Reads() int64 { return c.ReadsOne + c.ReadsAll }

// History is what one process recorded.
type History struct {
	Ops        []Op
	RolledBack []int64 // values written by transactions that rolled back
	Errors     []string
	Counts     Counts
	Elapsed    time.Duration // how long the load ran
}

func (h *History) merge(o *History) {
	h.Ops = append(h.Ops, o.Ops...)
	h.RolledBack = append(h.RolledBack, o.RolledBack...)
	h.Errors = append(h.Errors, o.Errors...)
	h.Counts.add(o.Counts)
	h.Elapsed = max(h.Elapsed, o.Elapsed)
}

// load is the workload one process runs.
type load struct {
	Writers, Readers int
	Duration         time.Duration
	// WriterPause bounds the pause a writer takes between transactions
	// (uniform in [0, WriterPause)): writers that never paused would keep
	// the table pending all the time, and then no read could be a hit.
	WriterPause time.Duration
	// Proc and Procs number this process among those sharing the run, so
	// that every value written is unique across all of them.
	Proc, Procs int
	// Now is the history's clock, in ns.
	Now func() int64 `json:"-"`
}

// run runs the load against h until its duration has passed.
func (l load) run(ctx context.Context, h *handle) *History {
	start := time.Now()
	deadline := start.Add(l.Duration)
	before := h.DB.Region().Stats()
	q0 := h.Hooks.queries.Load()
	var seq atomic.Int64
	nextValue := func() int64 { return seq.Add(1)*int64(l.Procs) + int64(l.Proc) }

	clients := l.Writers + l.Readers
	parts := make([]History, clients)
	var wg sync.WaitGroup
	for i := range clients {
		client := l.Proc*clients + i
		part := &parts[i]
		if i < l.Writers {
			wg.Go(func() { l.writer(ctx, h, client, deadline, nextValue, part) })
		} else {
			wg.Go(func() { l.reader(ctx, h, client, deadline, part) })
		}
	}
	wg.Wait()

	hist := &History{Elapsed: time.Since(start)}
	for i := range parts {
		hist.merge(&parts[i])
	}
	after := h.DB.Region().Stats()
	hist.Counts.Stats = region.Stats{
		Hits:          after.Hits - before.Hits,
		Misses:        after.Misses - before.Misses,
		StaleServed:   after.StaleServed - before.StaleServed,
		Created:       after.Created - before.Created,
		CreateErrors:  after.CreateErrors - before.CreateErrors,
		LockWaits:     after.LockWaits - before.LockWaits,
		BackendErrors: after.BackendErrors - before.BackendErrors,
		DecodeErrors:  after.DecodeErrors - before.DecodeErrors,
	}
	hist.Counts.DBQueries = h.Hooks.queries.Load() - q0
	return hist
}

// writer runs transactions that set one to three keys to new values, in
// key order (so that writers never deadlock), rolling about one in five
// back on purpose; about one single-key write in ten runs outside a
// transaction instead. Only committed writes enter the history: a rolled
// back value must never be read.
func (l load) writer(ctx context.Context, h *handle, client int, deadline time.Time, next func() int64, out *History) {
	rng := rand.New(rand.NewPCG(uint64(client), uint64(time.Now().UnixNano())))
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if l.WriterPause > 0 {
			time.Sleep(rand.N(l.WriterPause))
		}
		keys := rng.Perm(nKeys)[:1+rng.IntN(3)]
		slices.Sort(keys)
		vals := make([]int64, len(keys))
		for i := range vals {
			vals[i] = next()
		}
		rollback := rng.IntN(5) == 0
		auto := !rollback && len(keys) == 1 && rng.IntN(10) == 0
		call := l.Now()
		var err error
		committed := false
		switch {
		case auto:
			_, err = h.DB.ExecContext(ctx, write, vals[0], keys[0]+1)
			committed = err == nil
			out.Counts.Autocommits++
		default:
			out.Counts.Transactions++
			committed, err = l.transaction(ctx, h, keys, vals, rollback)
			switch {
			case committed:
				out.Counts.Commits++
			case rollback && err == nil:
				out.Counts.Rollbacks++
			}
		}
		ret := l.Now()
		if err != nil {
			out.Errors = append(out.Errors, fmt.Sprintf("writer %d: %v", client, err))
		}
		if !committed {
			if err != nil {
				// A write whose outcome is unknown may or may not have
				// happened: it may be linearized after everything else.
				ret = math.MaxInt64
			} else {
				out.RolledBack = append(out.RolledBack, vals...)
				continue
			}
		}
		for i, k := range keys {
			out.Ops = append(out.Ops, Op{Proc: l.Proc, Client: client, Write: true, Key: k + 1, Value: vals[i], Call: call, Return: ret, Tx: vals[0], Auto: auto})
		}
	}
}

func (l load) transaction(ctx context.Context, h *handle, keys []int, vals []int64, rollback bool) (committed bool, err error) {
	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return false, err
	}
	for i, k := range keys {
		if _, err := tx.ExecContext(ctx, write, vals[i], k+1); err != nil {
			_ = tx.Rollback()
			return false, err
		}
	}
	if rollback {
		return false, tx.Rollback()
	}
	if err := tx.Commit(); err != nil {
		return false, err
	}
	return true, nil
}

// reader reads through the cache, half the time one key, half the time
// every key, as fast as it can.
func (l load) reader(ctx context.Context, h *handle, client int, deadline time.Time, out *History) {
	rng := rand.New(rand.NewPCG(uint64(client), uint64(time.Now().UnixNano())))
	type row struct {
		K int   `db:"k"`
		V int64 `db:"v"`
	}
	for time.Now().Before(deadline) && ctx.Err() == nil {
		tr := &queryTrace{}
		rctx := withTrace(ctx, tr)
		if rng.IntN(2) == 0 {
			k := 1 + rng.IntN(nKeys)
			var v int64
			call := l.Now()
			err := h.DB.GetContext(rctx, &v, readOne, k)
			ret := l.Now()
			out.Counts.ReadsOne++
			if err != nil {
				out.Errors = append(out.Errors, fmt.Sprintf("reader %d: key %d: %v", client, k, err))
				continue
			}
			out.Ops = append(out.Ops, Op{Proc: l.Proc, Client: client, Key: k, Value: v, Call: call, Return: ret, Queried: tr.queried.Load()})
		} else {
			var rows []row
			call := l.Now()
			err := h.DB.SelectContext(rctx, &rows, readAll)
			ret := l.Now()
			out.Counts.ReadsAll++
			if err == nil && len(rows) != nKeys {
				err = fmt.Errorf("got %d rows, want %d", len(rows), nKeys)
			}
			if err != nil {
				out.Errors = append(out.Errors, fmt.Sprintf("reader %d: every key: %v", client, err))
				continue
			}
			for _, r := range rows {
				out.Ops = append(out.Ops, Op{Proc: l.Proc, Client: client, Key: r.K, Value: r.V, Call: call, Return: ret, All: true, Queried: tr.queried.Load()})
			}
		}
		if tr.queried.Load() {
			out.Counts.Queried++
		}
	}
}
