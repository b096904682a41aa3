package backend

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Arguments are a backend's settings by name, as they come from code or
// from a configuration file, where every value may be a string (dogpile's
// coerce_string_conf). The accessors convert and validate; a bad value gives
// an error wrapping [ErrBadArgument] that names the argument and the value.
type Arguments map[string]any

// String returns the argument name as a string, or def when it is absent.
func (a Arguments) String(name, def string) (string, error) {
	v, ok := a[name]
	if !ok || v == nil {
		return def, nil
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case fmt.Stringer:
		return x.String(), nil
	}
	return "", badArg(name, v, "a string")
}

// Int returns the argument name as an int, or def when it is absent.
// Strings are parsed.
func (a Arguments) Int(name string, def int) (int, error) {
	v, ok := a[name]
	if !ok || v == nil {
		return def, nil
	}
	switch x := v.(type) {
	case int:
		return x, nil
	case int64:
		return int(x), nil
	case int32:
		return int(x), nil
	case uint32:
		return int(x), nil
	case uint64:
		// Beyond MaxInt the conversion wraps to a negative number, which
		// would be reported (or, for a setting that takes negatives, used)
		// as a value nobody gave.
		if x <= math.MaxInt {
			return int(x), nil
		}
	case float64:
		if x == float64(int(x)) {
			return int(x), nil
		}
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(x)); err == nil {
			return n, nil
		}
	}
	return 0, badArg(name, v, "an integer")
}

// Bool returns the argument name as a bool, or def when it is absent.
// Strings such as "true", "false", "1", "0", "yes" and "no" are accepted.
func (a Arguments) Bool(name string, def bool) (bool, error) {
	v, ok := a[name]
	if !ok || v == nil {
		return def, nil
	}
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "1", "yes", "on":
			return true, nil
		case "false", "0", "no", "off", "":
			return false, nil
		}
	}
	return false, badArg(name, v, "a boolean")
}

// Duration returns the argument name as a duration, or def when it is
// absent. A [time.Duration] is taken as is; a number is a count of seconds,
// as in dogpile; a string is either a Go duration ("1m30s") or a number of
// seconds ("90", "0.5").
func (a Arguments) Duration(name string, def time.Duration) (time.Duration, error) {
	v, ok := a[name]
	if !ok || v == nil {
		return def, nil
	}
	d, err := ParseDuration(v)
	if err != nil {
		return 0, badArg(name, v, "a duration (a Go duration such as \"1m30s\", or a number of seconds)")
	}
	return d, nil
}

// Strings returns the argument name as a list of strings, or def when it is
// absent. A string is split at commas.
func (a Arguments) Strings(name string, def []string) ([]string, error) {
	v, ok := a[name]
	if !ok || v == nil {
		return def, nil
	}
	switch x := v.(type) {
	case []string:
		return x, nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, badArg(name, v, "a list of strings")
			}
			out = append(out, s)
		}
		return out, nil
	case string:
		var out []string
		for _, p := range strings.Split(x, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out, nil
	}
	return nil, badArg(name, v, "a list of strings")
}

// ParseDuration reads a duration the way configuration gives it: a
// [time.Duration] as is, a number as seconds, a string as a Go duration or
// a number of seconds.
func ParseDuration(v any) (time.Duration, error) {
	switch x := v.(type) {
	case time.Duration:
		return x, nil
	case int:
		return intSeconds(int64(x))
	case int64:
		return intSeconds(x)
	case float64:
		return secondsDuration(x)
	case string:
		s := strings.TrimSpace(x)
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return secondsDuration(f)
		}
		return time.ParseDuration(s)
	}
	return 0, fmt.Errorf("%T is not a duration", v)
}

// intSeconds converts n seconds, rejecting values out of range.
func intSeconds(n int64) (time.Duration, error) {
	const limit = math.MaxInt64 / int64(time.Second)
	if n > limit || n < -limit {
		return 0, fmt.Errorf("%d seconds is not a duration (the limit is about 292 years)", n)
	}
	return time.Duration(n) * time.Second, nil
}

// secondsDuration converts f seconds, rejecting NaN and values out of range.
func secondsDuration(f float64) (time.Duration, error) {
	ns := f * float64(time.Second)
	if ns != ns || ns >= math.MaxInt64 || ns <= math.MinInt64 {
		return 0, fmt.Errorf("%v seconds is not a duration", f)
	}
	// Less than a nanosecond truncates to zero, which settings read as
	// "none" (an expiration of "1e-10" would never expire): refuse it.
	if f != 0 && time.Duration(ns) == 0 {
		return 0, fmt.Errorf("%v seconds is less than a nanosecond", f)
	}
	return time.Duration(ns), nil
}

func badArg(name string, v any, want string) error {
	return fmt.Errorf("%w: %q is %#v, want %s", ErrBadArgument, name, v, want)
}

// Only returns an error wrapping [ErrBadArgument] that names every argument
// not among names, so that a misspelt setting is reported rather than
// silently ignored.
func (a Arguments) Only(names ...string) error {
	var unknown []string
	for k := range a {
		if !slices.Contains(names, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	return fmt.Errorf("%w: unknown argument(s) %q; this backend takes %q", ErrBadArgument, unknown, names)
}
