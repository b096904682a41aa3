package consistency_test

import (
	"math/rand/v2"
	"testing"

	"github.com/anishathalye/porcupine"
)

// Compaction keeps porcupine's verdict: on thousands of small random
// register histories, linearizable and not, the full history and the
// compacted one get the same answer.
func TestCompactKeepsTheVerdict(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var legal, illegal int
	for i := range 5000 {
		ops := randomHistory(rng)
		full := porcupine.CheckOperations(registerModel, operations(ops))
		compacted := porcupine.CheckOperations(registerModel, operations(compact(ops)))
		if full != compacted {
			t.Fatalf("history %d: linearizable %v in full, %v compacted:\n%+v\ncompacted:\n%+v", i, full, compacted, ops, compact(ops))
		}
		if full {
			legal++
		} else {
			illegal++
		}
	}
	t.Logf("%d linearizable histories, %d not", legal, illegal)
	if legal < 500 || illegal < 500 {
		t.Fatalf("the generator makes too few of one kind (%d linearizable, %d not) to test anything", legal, illegal)
	}
}

// randomHistory makes a history of one register: a few writes of unique
// values, each taking effect at a random point of its interval, and reads
// that return the value at a random point of theirs (a linearizable
// history); half the time one read then returns another value written at
// some time, or 0, which may or may not still be linearizable.
func randomHistory(rng *rand.Rand) []Op {
	type point struct {
		at    int64
		value int64
	}
	var ops []Op
	var points []point
	for w := range 1 + rng.IntN(4) {
		call := rng.Int64N(100)
		ret := call + 1 + rng.Int64N(30)
		ops = append(ops, Op{Write: true, Value: int64(w + 1), Call: call, Return: ret})
		points = append(points, point{call + rng.Int64N(ret-call+1), int64(w + 1)})
	}
	valueAt := func(at int64) int64 {
		var last point
		for _, p := range points {
			if p.at <= at && p.at >= last.at {
				last = p
			}
		}
		return last.value
	}
	for range 2 + rng.IntN(10) {
		call := rng.Int64N(120)
		ret := call + 1 + rng.Int64N(30)
		ops = append(ops, Op{Value: valueAt(call + rng.Int64N(ret-call+1)), Call: call, Return: ret})
	}
	if rng.IntN(2) == 0 {
		ops[len(ops)-1].Value = rng.Int64N(int64(len(points) + 1))
	}
	return ops
}

func operations(ops []Op) []porcupine.Operation {
	out := make([]porcupine.Operation, len(ops))
	for i, op := range ops {
		var o any = int64(0)
		if !op.Write {
			o = op.Value
		}
		out[i] = porcupine.Operation{Input: registerInput{write: op.Write, value: op.Value}, Call: op.Call, Output: o, Return: op.Return}
	}
	return out
}

// Every anomaly the direct searches name is a real violation: on the same
// random histories, whenever check names one, porcupine finds the full
// history not linearizable (and check's own porcupine verdict agrees).
func TestNamedAnomaliesAreViolations(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	named := 0
	for i := range 5000 {
		ops := randomHistory(rng)
		full := porcupine.CheckOperations(registerModel, operations(ops))
		v := check(&History{Ops: ops}, 0)
		if v.anomalies() > 0 {
			named++
			if full {
				t.Fatalf("history %d is linearizable, but check names anomalies: %+v\n%+v", i, v, ops)
			}
		}
		if v.OK() != full {
			t.Fatalf("history %d: porcupine says linearizable %v, check says OK %v: %+v", i, full, v.OK(), ops)
		}
	}
	t.Logf("anomalies named in %d of 5000 histories", named)
	if named < 500 {
		t.Fatalf("only %d histories with a named anomaly: the searches are not exercised", named)
	}
}
