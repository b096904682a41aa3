package backend_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
)

func TestArguments(t *testing.T) {
	args := backend.Arguments{
		"n": "42", "n2": 7, "f": 3.0, "bad": "x",
		"b": "yes", "b2": true,
		"d": "1m30s", "d2": 90, "d3": "0.5", "d4": 2 * time.Second,
		"s": "a", "l": "a, b,,c", "l2": []any{"x", "y"},
	}
	if n, err := args.Int("n", 0); err != nil || n != 42 {
		t.Errorf("Int(n) = %v, %v", n, err)
	}
	if n, err := args.Int("n2", 0); err != nil || n != 7 {
		t.Errorf("Int(n2) = %v, %v", n, err)
	}
	if n, err := args.Int("f", 0); err != nil || n != 3 {
		t.Errorf("Int(f) = %v, %v", n, err)
	}
	if n, err := args.Int("absent", 5); err != nil || n != 5 {
		t.Errorf("Int(absent) = %v, %v", n, err)
	}
	if _, err := args.Int("bad", 0); !errors.Is(err, backend.ErrBadArgument) || !strings.Contains(err.Error(), `"bad"`) {
		t.Errorf("Int(bad) error = %v, want ErrBadArgument naming the argument", err)
	}
	if b, err := args.Bool("b", false); err != nil || !b {
		t.Errorf("Bool(b) = %v, %v", b, err)
	}
	if b, err := args.Bool("b2", false); err != nil || !b {
		t.Errorf("Bool(b2) = %v, %v", b, err)
	}
	if _, err := args.Bool("n2", false); !errors.Is(err, backend.ErrBadArgument) {
		t.Errorf("Bool(n2) error = %v", err)
	}
	for name, want := range map[string]time.Duration{"d": 90 * time.Second, "d2": 90 * time.Second, "d3": 500 * time.Millisecond, "d4": 2 * time.Second} {
		if d, err := args.Duration(name, 0); err != nil || d != want {
			t.Errorf("Duration(%s) = %v, %v; want %v", name, d, err, want)
		}
	}
	if _, err := args.Duration("bad", 0); !errors.Is(err, backend.ErrBadArgument) {
		t.Errorf("Duration(bad) error = %v", err)
	}
	// Numbers no duration holds are refused, not wrapped or turned into
	// nonsense (found in an audit: NaN became a negative duration).
	for _, v := range []any{"NaN", "1e300", 1e300, math.NaN(), int64(math.MaxInt64), math.MaxInt64 / 1e9 * 2} {
		if d, err := backend.ParseDuration(v); err == nil {
			t.Errorf("ParseDuration(%#v) = %v; want an error", v, d)
		}
	}
	if s, err := args.String("s", ""); err != nil || s != "a" {
		t.Errorf("String(s) = %v, %v", s, err)
	}
	if _, err := args.String("n2", ""); !errors.Is(err, backend.ErrBadArgument) {
		t.Errorf("String(n2) error = %v", err)
	}
	if l, err := args.Strings("l", nil); err != nil || strings.Join(l, "|") != "a|b|c" {
		t.Errorf("Strings(l) = %v, %v", l, err)
	}
	if l, err := args.Strings("l2", nil); err != nil || strings.Join(l, "|") != "x|y" {
		t.Errorf("Strings(l2) = %v, %v", l, err)
	}
	if err := args.Only("n"); !errors.Is(err, backend.ErrBadArgument) || !strings.Contains(err.Error(), "n2") {
		t.Errorf("Only(n) = %v, want an error naming the others", err)
	}
	if err := (backend.Arguments{"a": 1}).Only("a", "b"); err != nil {
		t.Errorf("Only with known names = %v", err)
	}
}
