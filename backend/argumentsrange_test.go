package backend_test

import (
	"errors"
	"math"
	"testing"

	"github.com/dogpile-go/dogpile/backend"
)

// A uint64 above MaxInt is refused, not wrapped to a negative int that the
// error (or the setting) would report as a value nobody gave.
func TestIntRejectsUint64Overflow(t *testing.T) {
	args := backend.Arguments{"n": uint64(math.MaxUint64)}
	if n, err := args.Int("n", 0); !errors.Is(err, backend.ErrBadArgument) {
		t.Fatalf("Int(MaxUint64) = %d, %v; want ErrBadArgument", n, err)
	}
}

// A positive number of seconds below a nanosecond is refused: it would
// truncate to zero, which reads as "none" (never expire, no timeout).
func TestDurationRejectsSubNanosecond(t *testing.T) {
	for _, v := range []any{"1e-10", 1e-10} {
		args := backend.Arguments{"d": v}
		if d, err := args.Duration("d", 0); !errors.Is(err, backend.ErrBadArgument) {
			t.Errorf("Duration(%#v) = %v, %v; want ErrBadArgument", v, d, err)
		}
	}
	if d, err := (backend.Arguments{"d": "0"}).Duration("d", 0); err != nil || d != 0 {
		t.Errorf(`Duration("0") = %v, %v`, d, err)
	}
}
