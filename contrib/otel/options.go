package dogpileotel

import (
	"context"
	"strconv"

	"go.opentelemetry.io/otel/trace"

	"github.com/dogpile-go/dogpile/region"
)

// Options configure an [Observer]. The zero value of each field means its
// default.
type Options struct {
	// TracerProvider makes the observer's tracer. Default: the global one
	// (otel.GetTracerProvider), looked up when NewObserver is called; a
	// provider installed later still receives the spans, through the
	// global's delegation.
	TracerProvider trace.TracerProvider

	// Keys says how cache keys appear on spans and span events. Keys can
	// carry data (a user's e-mail address, a query's arguments), so the
	// default, [KeyHashed], records a digest; [KeyRaw] records them as
	// they are, [KeyOmitted] not at all.
	Keys KeyMode

	// Filter, when set, is asked about every event, with the caller's
	// context; the observer reports only those it returns true for (to
	// leave hits off busy spans, say, or to make no creation span outside
	// a trace). It must be fast. Default: every event is reported.
	Filter func(ctx context.Context, e region.Event) bool
}

// KeyMode says how an [Observer] records cache keys. A value other than
// those below records no key.
type KeyMode uint8

const (
	// KeyHashed records the first 16 hex digits of the key's SHA-256 as
	// dogpile.key_hash: enough to tell keys apart and follow one key
	// across traces, not to read it. A key from a small space (user:42)
	// can still be found by hashing guesses; omit such keys.
	KeyHashed KeyMode = iota
	// KeyRaw records the key as dogpile.key, as the region gives it (after
	// its key mangler, if it has one).
	KeyRaw
	// KeyOmitted records no key.
	KeyOmitted
)

// String returns the mode's name: hashed, raw or omitted.
func (m KeyMode) String() string {
	switch m {
	case KeyHashed:
		return "hashed"
	case KeyRaw:
		return "raw"
	case KeyOmitted:
		return "omitted"
	}
	return "KeyMode(" + strconv.Itoa(int(m)) + ")"
}
