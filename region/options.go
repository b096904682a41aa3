package region

import (
	"slices"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/clock"
)

// Option sets something about a region when it is made by [New]: the
// things dogpile's make_region takes, which do not depend on the backend.
type Option func(*Region)

// WithKeyMangler makes the region rewrite every key with m before it
// reaches the backend, instead of the backend's own mangler (see
// [backend.SHA1KeyMangler]).
func WithKeyMangler(m backend.KeyMangler) Option {
	return func(r *Region) { r.mangler, r.manglerSet = m, true }
}

// WithoutKeyMangling makes the region pass keys to the backend unchanged,
// even when the backend recommends a mangler (dogpile's key_mangler=False).
func WithoutKeyMangling() Option {
	return func(r *Region) { r.mangler, r.manglerSet = nil, true }
}

// WithSerializer makes the region encode values with s on backends that
// store bytes, instead of the backend's recommended serializer. Backends
// that store Go values ignore it.
func WithSerializer(s backend.Serializer) Option {
	return func(r *Region) { r.serializer = s }
}

// WithRunner gives the region an async creation runner (see [Pool]): a
// stale value is then returned at once and refreshed in the background,
// instead of by the caller who takes the lock. The first creation of a key
// always waits, as in dogpile.
func WithRunner(run Runner) Option {
	return func(r *Region) { r.runner = run }
}

// WithClock makes the region read time from c (default [clock.System]);
// tests pass a [clock.Manual] and move it.
func WithClock(c clock.Clock) Option {
	return func(r *Region) { r.clock = c }
}

// WithFuncKeyGenerator replaces the key generator of the region's cached
// functions (default [DefaultFuncKeyGenerator]).
func WithFuncKeyGenerator(g FuncKeyGenerator) Option {
	return func(r *Region) { r.funcKeys = g }
}

// WithObserver reports every event of the region to o.
func WithObserver(o Observer) Option {
	return func(r *Region) { r.observer = o }
}

// CallOption adjusts one call (GetOrCreate, Get, …) or, passed to
// [CacheOnArguments], every call of a cached function.
type CallOption func(*callOptions)

// callOptions are the settings of one call. The zero value means "as the
// region is configured".
type callOptions struct {
	expiration       time.Duration // 0: the region's; NoExpiration: never
	expirationFunc   func() time.Duration
	ignoreExpiration bool
	shouldCache      func(any) bool
	storeTTL         time.Duration // 0: the region's
	tags             []string      // sorted, without repeats; nil: untagged
	refresh          bool          // make a new value whatever the cache holds

	// recheck marks the second look a creation takes at its key, whose
	// decode failures the first look already counted.
	recheck bool
}

// forRecheck returns o marked as a recheck.
func (o *callOptions) forRecheck() *callOptions {
	q := *o
	q.recheck = true
	return &q
}

// NoExpiration, as an expiration, means values never expire (dogpile's -1).
const NoExpiration time.Duration = -1

// WithExpiration overrides the region's expiration for this call:
// values older than d are stale. [NoExpiration] means they never are. The
// expiration is not stored with values; it is how this call judges them.
func WithExpiration(d time.Duration) CallOption {
	return func(o *callOptions) { o.expiration, o.expirationFunc = d, nil }
}

// WithExpirationFunc makes this call ask f for its expiration, once per
// call ("until the end of the day", say).
func WithExpirationFunc(f func() time.Duration) CallOption {
	return func(o *callOptions) { o.expirationFunc = f }
}

// IgnoreExpiration makes Get and GetMulti return a stored value whatever
// its age and whatever invalidations say, as dogpile's ignore_expiration.
func IgnoreExpiration() CallOption {
	return func(o *callOptions) { o.ignoreExpiration = true }
}

// ShouldCache makes GetOrCreate store a created value only when f says so;
// a value f rejects is still returned to every waiter.
//
// A nil f checks nothing: every value is stored, as without the option
// (calling it would fail every creation with a nil-function panic).
func ShouldCache[V any](f func(V) bool) CallOption {
	if f == nil {
		return func(o *callOptions) { o.shouldCache = nil }
	}
	check := func(v any) bool {
		tv, _ := v.(V)
		return f(tv)
	}
	return func(o *callOptions) { o.shouldCache = check }
}

// WithStoreTTL asks the backend to drop values written by this call after
// d (see [backend.TTLSetter]), instead of the region's Config.StoreTTL.
func WithStoreTTL(d time.Duration) CallOption {
	return func(o *callOptions) { o.storeTTL = d }
}

// WithTags tags the values this call reads or makes. A tagged value records
// the versions its tags had before it was made, and is used only while they
// are all unchanged: [Region.InvalidateTags] (or any process bumping one of
// the tags in the backend) invalidates at once every value carrying the tag.
// While a tag is pending (a writer holds it), tagged calls neither serve
// nor store cached values: they call the creator, still once per key in the
// process. Tags need a backend that keeps tag versions
// ([backend.TagStore]); the memory and Redis stores do.
//
// The same key must always be asked for with the same tags.
func WithTags(tags ...string) CallOption {
	norm := normalizeTags(tags)
	return func(o *callOptions) { o.tags = norm }
}

// normalizeTags returns a sorted copy of tags without repeats (nil for
// none): the option keeps it, whatever the caller does with its slice.
func normalizeTags(tags []string) []string {
	if len(tags) == 0 {
		return nil
	}
	out := slices.Clone(tags)
	if strictlySorted(tags) {
		return out
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// strictlySorted reports whether tags are sorted with no repeats.
func strictlySorted(tags []string) bool {
	for i := 1; i < len(tags); i++ {
		if tags[i-1] >= tags[i] {
			return false
		}
	}
	return true
}

// ForceRefresh makes GetOrCreate (and GetOrCreateMulti) make a new value
// whatever the cache holds, under the dogpile lock as usual (callers that
// arrive meanwhile wait for it), and store it. Unlike a [Set] of a value
// the caller computed itself, the tag versions the new value records are
// read before the creator runs, so a refresh that races a write can never
// store rows from before it as current.
func ForceRefresh() CallOption {
	return func(o *callOptions) { o.refresh = true }
}

// collect applies opts. It is called only when there are options, so that
// a call without any allocates nothing.
func collect(opts []CallOption) *callOptions {
	o := new(callOptions)
	for _, opt := range opts {
		if opt != nil {
			opt(o)
		}
	}
	return o
}

var noOptions = &callOptions{}

func options(opts []CallOption) *callOptions {
	if len(opts) == 0 {
		return noOptions
	}
	return collect(opts)
}
