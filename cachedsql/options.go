package cachedsql

import (
	"math"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/cachedsql/sqlanalysis"
	"github.com/dogpile-go/dogpile/region"
)

// Option configures a [DB]. Options never fail: a value out of range is
// clamped to the nearest sensible one, as documented on each.
type Option func(*settings)

// settings are a DB's options once applied.
type settings struct {
	region          *region.Region
	backend         backend.Backend
	runner          region.Runner
	namespace       string
	ttl             time.Duration
	jitter          float64
	maxRows         int
	maxBytes        int
	onlyOnRequest   bool
	analyzer        *sqlanalysis.Analyzer
	schema          string
	onError         func(error)
	observer        region.Observer
	invalidation    region.InvalidationStrategy
	analyses        int
	views           map[string][]string // WithViews: view → the relations it reads
	cascades        map[string][]string // WithCascades: table → the tables its writes reach
	sessionSettings []string            // WithSessionSettings: more settings in the key
}

func defaults() settings {
	return settings{
		namespace: "cachedsql",
		ttl:       5 * time.Minute,
		jitter:    0.1,
		maxRows:   10_000,
		maxBytes:  8 << 20,
		schema:    "public",
		analyses:  10_000,
	}
}

// WithRegion caches in r, which must be configured on a backend wrapped by
// [invalidation.Tags] (so that reads see the tags this process holds):
//
//	tags, _ := invalidation.NewTags(store, invalidation.Options{})
//	r.MustConfigure(region.Config{Backend: tags})
//	db, _ := cachedsql.Open("pgx", dsn, cachedsql.WithRegion(r))
//
// Without it (and without [WithBackend]), a DB caches in a region of its
// own on the in-process memory store.
func WithRegion(r *region.Region) Option { return func(s *settings) { s.region = r } }

// WithBackend caches in a region of the DB's own on b (a Redis store to
// share the cache between processes, say), which must keep tag versions
// ([backend.TagStore]). Ignored with [WithRegion].
func WithBackend(b backend.Backend) Option { return func(s *settings) { s.backend = b } }

// WithRunner gives the DB's own region an async runner: stale results are
// served at once and refreshed in the background, and commit hooks that
// refresh queries run on it. Default: a pool of the DB's own.
func WithRunner(r region.Runner) Option { return func(s *settings) { s.runner = r } }

// WithNamespace keeps this DB's keys and tags apart from other databases
// sharing one cache (one Redis, say). Default: "cachedsql".
func WithNamespace(ns string) Option { return func(s *settings) { s.namespace = ns } }

// WithTTL sets how long a cached result stays fresh (see [WithTTLJitter]).
// A TTL under a millisecond means the default, five minutes.
func WithTTL(d time.Duration) Option {
	return func(s *settings) {
		if d >= time.Millisecond {
			s.ttl = d
		}
	}
}

// WithTTLJitter shortens each key's TTL by up to this fraction, by an
// amount fixed per key, so that results cached together do not expire
// together. Clamped to [0, 0.9]; default 0.1. NaN changes nothing.
func WithTTLJitter(fraction float64) Option {
	return func(s *settings) {
		if !math.IsNaN(fraction) {
			s.jitter = min(max(fraction, 0), 0.9)
		}
	}
}

// WithMaxRows caches no result of more rows than n (it is returned, not
// cached). 0 or less: no limit. Default: 10,000.
func WithMaxRows(n int) Option { return func(s *settings) { s.maxRows = max(n, 0) } }

// WithMaxBytes caches no result larger than n bytes (an estimate of its
// values' sizes). 0 or less: no limit. Default: 8 MiB.
func WithMaxBytes(n int) Option { return func(s *settings) { s.maxBytes = max(n, 0) } }

// OnlyOnRequest caches only the reads whose context asks for it
// ([UseCache]); by default every read the analyzer proves cacheable is cached.
func OnlyOnRequest() Option { return func(s *settings) { s.onlyOnRequest = true } }

// WithAnalyzer analyses statements with a, to declare functions safe,
// volatile or writing (see sqlanalysis.New). On PostgreSQL the DB's keys
// hold the session's TimeZone and locale, and its default analyzer is made
// with sqlanalysis.WithTimeZoneInKey, so that date_trunc and the like are
// cacheable; give a that option too to keep them so.
func WithAnalyzer(a *sqlanalysis.Analyzer) Option { return func(s *settings) { s.analyzer = a } }

// WithDefaultSchema names the schema of unqualified tables, so that
// "users" and "public.users" are one tag. Default: "public".
func WithDefaultSchema(schema string) Option {
	return func(s *settings) {
		if schema != "" {
			s.schema = schema
		}
	}
}

// WithErrorHandler is told of every failure the DB recovers from by itself:
// a cache that is down, an invalidation deferred, a hook that failed. It
// must not block. Default: none (the failures are still counted by the
// region). With [WithRegion], the region's own failures reach it only if
// that region's observer passes them on (the DB does not change a region
// it did not make).
func WithErrorHandler(f func(error)) Option { return func(s *settings) { s.onError = f } }

// WithObserver reports the events of the DB's own region (hits, misses,
// creations and their latency, …) to o, for metrics and tracing (see the
// contrib modules). Ignored with [WithRegion]: configure that region's
// observer where it is made.
func WithObserver(o region.Observer) Option { return func(s *settings) { s.observer = o } }

// WithInvalidation gives the DB's own region an invalidation strategy for
// region-wide invalidation ([region.Region.Invalidate]), such as the shared
// one in package invalidation, which every process honours. Default: the
// region's own, local to the process. Ignored with [WithRegion].
func WithInvalidation(s region.InvalidationStrategy) Option {
	return func(st *settings) { st.invalidation = s }
}
