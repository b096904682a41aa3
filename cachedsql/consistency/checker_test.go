package consistency_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// registerInput is a porcupine operation on one key's register.
type registerInput struct {
	write bool
	value int64 // written
}

// registerModel is one key of kv as a register, starting at 0; the
// history is partitioned by key, each checked on its own.
var registerModel = porcupine.Model{
	Init: func() any { return int64(0) },
	Step: func(state, input, output any) (bool, any) {
		in := input.(registerInput)
		if in.write {
			return true, in.value
		}
		return output.(int64) == state.(int64), state
	},
	DescribeOperation: func(input, output any) string {
		in := input.(registerInput)
		if in.write {
			return fmt.Sprintf("write(%d)", in.value)
		}
		return fmt.Sprintf("read() → %d", output.(int64))
	},
}

// Verdict is the outcome of checking a history.
type Verdict struct {
	Porcupine   map[int]porcupine.CheckResult // per key
	CheckTime   time.Duration                 // porcupine's, all keys
	Reads       int                           // read operations checked (per key)
	Writes      int                           // committed writes checked (per key)
	Checked     int                           // operations porcupine checked, once compacted
	RolledBack  []string                      // reads of values only rolled-back transactions wrote
	Unknown     []string                      // reads of values nobody wrote
	Stale       []string                      // reads that missed a write whose commit returned before they began
	Future      []string                      // reads of values written by a transaction that began after they returned
	Inverted    []string                      // reads of a value older than one an earlier read had returned
	StaleByPath map[string]int                // stale reads by process and whether they queried themselves
}

// OK reports whether the history is linearizable with no anomaly found.
func (v Verdict) OK() bool {
	for _, r := range v.Porcupine {
		if r != porcupine.Ok {
			return false
		}
	}
	return v.anomalies() == 0
}

// undecided reports whether porcupine timed out on a key and nothing
// else was found.
func (v Verdict) undecided() bool {
	for _, r := range v.Porcupine {
		if r == porcupine.Illegal {
			return false
		}
	}
	return v.anomalies() == 0
}

func (v Verdict) anomalies() int {
	return len(v.RolledBack) + len(v.Unknown) + len(v.Stale) + len(v.Future) + len(v.Inverted)
}

func (v Verdict) String() string {
	keys := make([]int, 0, len(v.Porcupine))
	for k := range v.Porcupine {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString("porcupine:")
	for _, k := range keys {
		fmt.Fprintf(&b, " key %d %s;", k, v.Porcupine[k])
	}
	fmt.Fprintf(&b, " %d operations once compacted, checked in %v; reads of rolled-back values: %d, of unknown values: %d, stale reads: %d, reads from the future: %d, reads older than an earlier read: %d",
		v.Checked, v.CheckTime.Round(time.Millisecond), len(v.RolledBack), len(v.Unknown), len(v.Stale), len(v.Future), len(v.Inverted))
	return b.String()
}

// check checks h: porcupine on each key's register, and, to name the
// operations at fault when there are any, direct searches for the anomalies
// the cache could cause. timeout bounds porcupine on each key (0: none).
func check(h *History, timeout time.Duration) Verdict {
	v := Verdict{Porcupine: map[int]porcupine.CheckResult{}, StaleByPath: map[string]int{}}
	byKey := map[int][]Op{}
	for _, op := range h.Ops {
		byKey[op.Key] = append(byKey[op.Key], op)
	}
	rolledBack := map[int64]bool{}
	for _, val := range h.RolledBack {
		rolledBack[val] = true
	}
	origin := int64(math.MaxInt64)
	for _, op := range h.Ops {
		origin = min(origin, op.Call)
	}
	rel := func(ns int64) string {
		if ns == math.MaxInt64 {
			return "never"
		}
		return time.Duration(ns - origin).String()
	}
	describe := func(op Op) string {
		switch {
		case op.Write && op.Auto:
			return fmt.Sprintf("write %d by proc %d client %d outside a transaction, [%s, %s]", op.Value, op.Proc, op.Client, rel(op.Call), rel(op.Return))
		case op.Write:
			return fmt.Sprintf("transaction %d (proc %d client %d) writing %d, [%s, %s]", op.Tx, op.Proc, op.Client, op.Value, rel(op.Call), rel(op.Return))
		}
		what, how := "one key", "served without a query of its own (a hit, or the result of another caller's creation)"
		if op.All {
			what = "every key"
		}
		if op.Queried {
			how = "ran its own query"
		}
		return fmt.Sprintf("read of %s by proc %d client %d → %d, [%s, %s], %s", what, op.Proc, op.Client, op.Value, rel(op.Call), rel(op.Return), how)
	}

	start := time.Now()
	for key, ops := range byKey {
		writes := map[int64]Op{}
		var ws []Op // committed writes by call time
		for _, op := range ops {
			if op.Write {
				writes[op.Value] = op
				ws = append(ws, op)
				v.Writes++
			} else {
				v.Reads++
			}
		}
		slices.SortFunc(ws, func(a, b Op) int { return cmpInt(a.Call, b.Call) })
		// minRet[i] is the earliest return among ws[i:], and who.
		minRet := make([]int, len(ws)+1)
		minRet[len(ws)] = -1
		for i := len(ws) - 1; i >= 0; i-- {
			minRet[i] = i
			if j := minRet[i+1]; j >= 0 && ws[j].Return < ws[i].Return {
				minRet[i] = j
			}
		}
		var sourced []sourcedRead // reads whose value some committed write (or the start) wrote
		for _, r := range ops {
			if r.Write {
				continue
			}
			w, ok := writes[r.Value]
			switch {
			case r.Value == 0:
				w = Op{Call: math.MinInt64, Return: math.MinInt64}
			case rolledBack[r.Value]:
				v.RolledBack = append(v.RolledBack, describe(r)+": that value was written by a transaction that rolled back")
				continue
			case !ok:
				v.Unknown = append(v.Unknown, describe(r)+": nobody wrote that value")
				continue
			}
			if w.Call > r.Return {
				v.Future = append(v.Future, describe(r)+"; but "+describe(w)+" began after the read returned")
			}
			if w.Return == math.MaxInt64 {
				continue // w's outcome is unknown: it may come last
			}
			sourced = append(sourced, sourcedRead{r, w})
			// A write that began after w returned (so it follows w in every
			// linearization) and returned before r began (so it precedes r)
			// overwrote the value r read before r began.
			i, _ := slices.BinarySearchFunc(ws, w.Return+1, func(a Op, t int64) int { return cmpInt(a.Call, t) })
			if j := minRet[i]; j >= 0 && ws[j].Return < r.Call {
				later := ws[j]
				gap := time.Duration(r.Call - later.Return)
				v.Stale = append(v.Stale, fmt.Sprintf("key %d: %s; but %s returned %v before the read began, after %s had returned",
					key, describe(r), describe(later), gap, describeWrite(w, describe)))
				path := "served without a query of its own"
				if r.Queried {
					path = "ran its own query"
				}
				v.StaleByPath[fmt.Sprintf("proc %d, %s", r.Proc, path)]++
			}
		}
		v.Inverted = append(v.Inverted, inversions(key, sourced, describe)...)
		kept := compact(ops)
		v.Checked += len(kept)
		pops := operations(kept)
		// One key at a time: porcupine keeps a bitset of the history's size
		// per state it reached, so memory grows with the square of a
		// partition's size, and partitions checked together add up.
		v.Porcupine[key] = porcupine.CheckOperationsTimeout(registerModel, pops, timeout)
	}
	v.CheckTime = time.Since(start)
	return v
}

func describeWrite(w Op, describe func(Op) string) string {
	if w.Call == math.MinInt64 {
		return "the initial value 0"
	}
	return describe(w)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// report logs a run's numbers and verdict, saves the history when the
// verdict is not clean, and fails t on any error or anomaly.
func report(t *testing.T, name string, h *History, v Verdict) {
	t.Helper()
	c := h.Counts
	reads := c.Reads()
	hitRatio := 0.0
	if reads > 0 {
		hitRatio = float64(c.Hits) / float64(reads)
	}
	t.Logf("%s: ran %v: %d transactions (%d committed, %d rolled back on purpose), %d writes outside a transaction; "+
		"%d reads (%d of one key, %d of every key) = %.0f/s",
		name, h.Elapsed.Round(time.Millisecond), c.Transactions, c.Commits, c.Rollbacks, c.Autocommits,
		reads, c.ReadsOne, c.ReadsAll, float64(reads)/h.Elapsed.Seconds())
	t.Logf("%s: cache: %d hits, %d misses (hit ratio %.1f%% of reads), %d stale served, %d created, %d lock waits, %d backend errors; "+
		"%d reads ran their own query, %d queries reached PostgreSQL",
		name, c.Hits, c.Misses, 100*hitRatio, c.StaleServed, c.Created, c.LockWaits, c.BackendErrors, c.Queried, c.DBQueries)
	t.Logf("%s: history, one operation per key read or written: %d reads, %d committed writes; %s", name, v.Reads, v.Writes, v)
	for _, e := range first(h.Errors, 10) {
		t.Errorf("%s: %s", name, e)
	}
	if !v.OK() {
		for _, list := range []struct {
			what string
			l    []string
		}{{"stale read", v.Stale}, {"read of rolled-back data", v.RolledBack}, {"read of an unknown value", v.Unknown}, {"read from the future", v.Future}, {"read older than an earlier read", v.Inverted}} {
			for _, s := range first(list.l, 5) {
				t.Errorf("%s: %s: %s", name, list.what, s)
			}
			if len(list.l) > 5 {
				t.Errorf("%s: … and %d more of %s", name, len(list.l)-5, list.what)
			}
		}
		if len(v.Stale) > 0 {
			t.Errorf("%s: stale reads by path: %v", name, v.StaleByPath)
		}
		if v.undecided() {
			t.Errorf("%s: porcupine could not decide within %v per key: %s", name, checkTimeout, v)
		} else {
			t.Errorf("%s: the history is not linearizable: %s", name, v)
		}
		saveHistory(t, name, h)
	}
	if minHit := 0.2; hitRatio < minHit {
		t.Errorf("%s: hit ratio %.1f%% is under %.0f%%: the cache was hardly exercised, so the check proves little", name, 100*hitRatio, 100*minHit)
	}
}

func first(l []string, n int) []string { return l[:min(len(l), n)] }

// saveHistory writes h as JSON to the test's artifact directory (kept
// with go test -artifacts).
func saveHistory(t *testing.T, name string, h *History) {
	t.Helper()
	path := filepath.Join(t.ArtifactDir(), strings.ReplaceAll(name, "/", "_")+".history.json")
	data, err := json.Marshal(h)
	if err == nil {
		err = os.WriteFile(path, data, 0o644)
	}
	if err != nil {
		t.Logf("saving the history: %v", err)
		return
	}
	t.Logf("%s: history saved to %s (kept with go test -artifacts)", name, path)
}

// compact returns one key's operations with, for each value read, only two
// of its reads: the one that returned first and the one that began last.
// The others cannot change the verdict, and without them porcupine, whose
// memory grows with the square of a partition's size, can check a run of
// minutes instead of seconds.
//
// Why it is exact. Values are unique, so in any linearization a value x is
// the register's state over one span [a, b]: from its write to the next
// write. A read of x fits iff it can be placed in the span within its own
// interval [call, return], that is iff a ≤ return and call ≤ b. Over all
// the reads of x this is a ≤ the earliest return and the latest call ≤ b:
// two reads carry every constraint. So the history is linearizable iff the
// compacted one is: removing reads keeps a linearization one, and in a
// linearization of the compacted history every removed read of x fits in
// x's span, its interval reaching from before the earliest return to after
// the latest call. (A value nobody wrote fits nowhere: two of its reads
// fail as surely as all of them.)
func compact(ops []Op) []Op {
	type pick struct{ firstReturn, lastCall int }
	picks := map[int64]*pick{}
	var out []Op
	for i, op := range ops {
		if op.Write {
			out = append(out, op)
			continue
		}
		p := picks[op.Value]
		if p == nil {
			picks[op.Value] = &pick{i, i}
			continue
		}
		if op.Return < ops[p.firstReturn].Return {
			p.firstReturn = i
		}
		if op.Call > ops[p.lastCall].Call {
			p.lastCall = i
		}
	}
	for _, p := range picks {
		out = append(out, ops[p.firstReturn])
		if p.lastCall != p.firstReturn {
			out = append(out, ops[p.lastCall])
		}
	}
	return out
}

// sourcedRead is a read and the write of the value it returned.
type sourcedRead struct{ read, source Op }

// inversions finds reads that returned a value older than one an earlier
// read had already returned: r2 read x, but r1, which returned before r2
// began, read y, written by a write that began after x's write returned.
// Once r1 saw y, y's write precedes r1, hence r2, in every linearization,
// and x is gone for good. It names at most one r1 per r2: the one whose
// value's write began last.
func inversions(key int, reads []sourcedRead, describe func(Op) string) []string {
	slices.SortFunc(reads, func(a, b sourcedRead) int { return cmpInt(a.read.Return, b.read.Return) })
	// newest[i]: among reads[:i+1], the one whose source began last.
	newest := make([]int, len(reads))
	for i := range reads {
		newest[i] = i
		if i > 0 && reads[newest[i-1]].source.Call >= reads[i].source.Call {
			newest[i] = newest[i-1]
		}
	}
	var out []string
	for _, r2 := range reads {
		n, _ := slices.BinarySearchFunc(reads, r2.read.Call, func(a sourcedRead, t int64) int { return cmpInt(a.read.Return, t) })
		if n == 0 {
			continue // no read returned before r2 began
		}
		r1 := reads[newest[n-1]]
		if r1.source.Call <= r2.source.Return {
			continue
		}
		who := "another client"
		if r1.read.Proc == r2.read.Proc && r1.read.Client == r2.read.Client {
			who = "the same client, just before"
		}
		out = append(out, fmt.Sprintf("key %d: %s; but %s, by %s, had returned %d, written by %s, which began after %s returned",
			key, describe(r2.read), describe(r1.read), who, r1.read.Value, describe(r1.source), describeWrite(r2.source, describe)))
	}
	return out
}
