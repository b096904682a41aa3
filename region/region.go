package region

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/clock"
)

// valueVersion is the format version written into every entry's metadata
// (dogpile's value_version). An entry of another version is a miss, so a
// change of what the region stores never reaches callers as garbage.
const valueVersion uint16 = 1

// Region is a cache front end over a backend: get-or-create with the
// dogpile lock, expiration, invalidation, key mangling and serialization.
//
// A region is made at package level with [New] and configured once the
// program knows its settings, with [Region.Configure] or
// [Region.ConfigureFromConfig]; cached functions can be declared on it
// before that. Its cache operations are the package's generic functions
// ([GetOrCreate], [Get], [Set], …), so that values come back typed.
//
// A Region is safe for concurrent use by multiple goroutines.
type Region struct {
	// The fields down to stats are read on every hit and written seldom
	// or never; the padding keeps them off cache lines that other cores
	// write (the flights' mutex, seq, and neighbouring objects).
	_    pad
	name string

	// Set by New and read-only afterwards.
	mangler    backend.KeyMangler
	manglerSet bool
	serializer backend.Serializer
	runner     Runner
	clock      clock.Clock
	coarse     *clock.Coarse // when on the system clock: judges expiry on hits
	funcKeys   FuncKeyGenerator
	observer   Observer

	cfg      atomic.Pointer[config] // nil until configured
	configMu sync.Mutex             // serializes Configure calls

	stats *counters
	_     pad

	flights flightGroup
	// seq orders the start of creations against the lookups of tagged
	// callers that join them (see flight.started).
	seq atomic.Uint64
}

// config is what Configure settles; a region swaps it whole.
type config struct {
	_              pad // read on every hit: see Region
	backend        backend.Backend
	expiration     time.Duration // 0: none
	expirationFunc func() time.Duration
	invalidation   InvalidationStrategy
	local          *LocalInvalidation  // invalidation, when it is the local one: called directly on hits
	reader         backend.EntryReader // backend, when it hands out entries without a copy
	fast           bool                // plain hits can take tryFastHit (see there)
	mangler        backend.KeyMangler  // resolved: the region's, else the backend's
	serializer     backend.Serializer  // nil: the backend stores Go values
	storeTTL       time.Duration
	strict         bool
	_              pad
}

// pad fills a cache line, or the pair of them that x86 prefetches together,
// to keep data that every hit reads apart from data that cores write: a
// line shared with a written word is fetched again after each write, and
// hits on several cores slow down several times over.
type pad [128]byte

// New makes a region. It is ready for declarations (cached functions) at
// once, and for caching once configured.
func New(name string, opts ...Option) *Region {
	r := &Region{name: name, clock: clock.System, funcKeys: DefaultFuncKeyGenerator, stats: newCounters()}
	for _, o := range opts {
		if o != nil {
			o(r)
		}
	}
	if r.clock == nil {
		r.clock = clock.System
	}
	if r.funcKeys == nil {
		r.funcKeys = DefaultFuncKeyGenerator
	}
	if r.clock == clock.System {
		r.coarse = clock.SystemCoarse()
	}
	return r
}

// Config is what [Region.Configure] takes: the backend and how the region
// uses it (dogpile's configure arguments). The zero value of each field
// means the default.
type Config struct {
	// Backend is the store to use. Either Backend or BackendName is set.
	Backend backend.Backend
	// BackendName names a registered backend ([backend.Register]) to
	// open with Arguments.
	BackendName string
	// Arguments are passed to the named backend.
	Arguments backend.Arguments

	// Expiration is how long a value stays fresh; older values are stale:
	// served while one caller makes a new one. Zero (or [NoExpiration])
	// means values never expire.
	Expiration time.Duration
	// ExpirationFunc, when set, is asked for the expiration on every call
	// instead of Expiration.
	ExpirationFunc func() time.Duration

	// Wrap lists proxies to wrap around the backend, the first outermost
	// (see [backend.Wrap]).
	Wrap []backend.Proxy

	// ReplaceExisting allows configuring a region that already has a
	// backend; without it Configure returns [ErrAlreadyConfigured].
	ReplaceExisting bool

	// Invalidation is the invalidation strategy. Default: a new
	// [LocalInvalidation], local to this process.
	Invalidation InvalidationStrategy

	// StoreTTL, when above zero, asks the backend to drop written values
	// after that long (see [backend.TTLSetter]). Make it longer than the
	// expiration, so that stale values are there to serve while new ones
	// are made. Default: no TTL.
	StoreTTL time.Duration

	// FailOnBackendError makes a failing backend fail the call. By
	// default a backend error is counted, reported to the observer, and
	// the region carries on without the cache: a failed read is a miss
	// (the creator runs, still once per key in this process) and a failed
	// write is dropped.
	FailOnBackendError bool
}

// Configure gives the region its backend and settings. It returns
// [ErrAlreadyConfigured] for a region already configured, unless
// cfg.ReplaceExisting is set; then the new settings apply to calls that
// start afterwards. The replaced backend is not closed.
func (r *Region) Configure(cfg Config) error {
	r.configMu.Lock()
	defer r.configMu.Unlock()
	if r.cfg.Load() != nil && !cfg.ReplaceExisting {
		return fmt.Errorf("%w (region %q)", ErrAlreadyConfigured, r.name)
	}
	c, err := r.build(cfg)
	if err != nil {
		return fmt.Errorf("region %q: %w", r.name, err)
	}
	r.cfg.Store(c)
	return nil
}

// MustConfigure is Configure that panics on error, for package-level
// set-up where a bad configuration is a programming error. It returns r.
func (r *Region) MustConfigure(cfg Config) *Region {
	if err := r.Configure(cfg); err != nil {
		panic(err)
	}
	return r
}

func (r *Region) build(cfg Config) (*config, error) {
	b := cfg.Backend
	switch {
	case b != nil && cfg.BackendName != "":
		return nil, fmt.Errorf("%w: set Backend or BackendName (%q), not both", ErrBadConfig, cfg.BackendName)
	case b == nil && cfg.BackendName == "":
		return nil, fmt.Errorf("%w: no backend: set Backend or BackendName", ErrBadConfig)
	case b == nil:
		var err error
		if b, err = backend.Open(cfg.BackendName, cfg.Arguments); err != nil {
			return nil, err
		}
	}
	if cfg.Expiration < 0 && cfg.Expiration != NoExpiration {
		return nil, fmt.Errorf("%w: Expiration %v is negative; use 0 or NoExpiration for none", ErrBadConfig, cfg.Expiration)
	}
	if cfg.StoreTTL < 0 {
		return nil, fmt.Errorf("%w: StoreTTL %v is negative", ErrBadConfig, cfg.StoreTTL)
	}
	if len(cfg.Wrap) > 0 {
		var err error
		if b, err = backend.Wrap(b, cfg.Wrap...); err != nil {
			return nil, err
		}
	}
	c := &config{
		backend:        b,
		expiration:     max(cfg.Expiration, 0),
		expirationFunc: cfg.ExpirationFunc,
		invalidation:   cfg.Invalidation,
		storeTTL:       cfg.StoreTTL,
		strict:         cfg.FailOnBackendError,
	}
	if c.invalidation == nil {
		c.invalidation = NewLocalInvalidation(r.clock)
	}
	c.local, _ = c.invalidation.(*LocalInvalidation)
	c.reader, _ = b.(backend.EntryReader)
	if r.manglerSet {
		c.mangler = r.mangler
	} else {
		c.mangler = backend.KeyManglerOf(b)
	}
	if s := backend.SerializerOf(b); s != nil {
		c.serializer = s
		if r.serializer != nil {
			c.serializer = r.serializer
		}
	}
	c.fast = c.reader != nil && c.serializer == nil && c.local != nil && c.expirationFunc == nil
	return c, nil
}

// configured returns the settled configuration, or ErrNotConfigured.
func (r *Region) configured() (*config, error) {
	if c := r.cfg.Load(); c != nil {
		return c, nil
	}
	return nil, fmt.Errorf("%w (region %q)", ErrNotConfigured, r.name)
}

// Name returns the region's name.
func (r *Region) Name() string { return r.name }

// IsConfigured reports whether the region has a backend.
func (r *Region) IsConfigured() bool { return r.cfg.Load() != nil }

// Backend returns the configured backend, proxies included, or nil.
func (r *Region) Backend() backend.Backend {
	if c := r.cfg.Load(); c != nil {
		return c.backend
	}
	return nil
}

// ActualBackend returns the store underneath the proxies, or nil.
func (r *Region) ActualBackend() backend.Backend {
	if b := r.Backend(); b != nil {
		return backend.ActualBackend(b)
	}
	return nil
}

// Runner returns the region's async creation runner, or nil.
func (r *Region) Runner() Runner { return r.runner }

// Clock returns the region's clock.
func (r *Region) Clock() clock.Clock { return r.clock }

// Stats returns the region's counters.
func (r *Region) Stats() Stats { return r.stats.snapshot() }

// Invalidate invalidates every value the region holds, through its
// invalidation strategy: with hard, callers wait for new values; without,
// they get the old ones while one of them makes a new one. The default
// strategy is local to this process (see [LocalInvalidation]).
func (r *Region) Invalidate(ctx context.Context, hard bool) error {
	c, err := r.configured()
	if err != nil {
		return err
	}
	if err := c.invalidation.Invalidate(ctx, hard); err != nil {
		return fmt.Errorf("region %q: invalidate: %w", r.name, err)
	}
	r.stats.invals.Add(1)
	r.observe(ctx, Event{Kind: EventInvalidated, Hard: hard})
	return nil
}

// KeyIsLocked reports whether a value for key is being created: in this
// process, or, when the backend's lock can be inspected, in another.
func (r *Region) KeyIsLocked(ctx context.Context, key string) (bool, error) {
	c, err := r.configured()
	if err != nil {
		return false, err
	}
	k := c.mangle(key)
	if r.flights.inFlight(k) {
		return true, nil
	}
	locked, err := backend.IsLocked(ctx, c.backend, k)
	if err != nil {
		return false, r.backendError(ctx, c, k, err)
	}
	return locked, nil
}

// nowNano is the time by which hits are judged expired: the coarse clock's
// when the region is on the system clock (a millisecond of lag decides
// nothing that matters there, and a clock read would cost more than the
// hit), the region's clock otherwise.
func (r *Region) nowNano() int64 {
	if r.coarse != nil {
		return r.coarse.NowNano()
	}
	return r.clockNano()
}

// expired reports whether a value created at created is older than exp
// at now (both Unix nanoseconds); exp 0 means it never expires.
func expired(now, created int64, exp time.Duration) bool {
	return exp > 0 && now-created > int64(exp)
}

// clockNano reads the region's own clock; apart from nowNano so that
// nowNano inlines into the hit paths.
func (r *Region) clockNano() int64 { return r.clock.Now().UnixNano() }

func (c *config) mangle(key string) string {
	if c.mangler != nil {
		return c.mangler(key)
	}
	return key
}

// expirationFor returns the expiration in force for a call; 0 means none.
func (c *config) expirationFor(o *callOptions) time.Duration {
	return max(c.rawExpiration(o), 0)
}

// rawExpiration is the expiration in force for a call as given: by the
// call's option or function, else the region's. NoExpiration and 0 mean
// none; any other negative value is a mistake that resolved reports.
func (c *config) rawExpiration(o *callOptions) time.Duration {
	switch {
	case o.expirationFunc != nil:
		return o.expirationFunc()
	case o.expiration != 0:
		return o.expiration
	case c.expirationFunc != nil:
		return c.expirationFunc()
	}
	return c.expiration
}

// resolved returns o with the expiration function in force (the call's,
// else the region's) asked once, so that every judgement of the call uses
// the same expiration.
//
// A negative expiration other than NoExpiration is refused with
// ErrBadConfig. Taken as is, it would count as "no expiration" (expired
// ignores a bound that is not positive), so a caller passing, say,
// WithExpiration(time.Until(deadline)) after the deadline would have its
// values served forever instead of never: the opposite of what it asked.
func (r *Region) resolved(c *config, o *callOptions) (*callOptions, error) {
	if o.expiration < 0 && o.expiration != NoExpiration {
		return nil, fmt.Errorf("region %q: %w: WithExpiration(%v) is negative; use NoExpiration for none", r.name, ErrBadConfig, o.expiration)
	}
	if o.expirationFunc == nil && (o.expiration != 0 || c.expirationFunc == nil) {
		return o, nil
	}
	d := c.rawExpiration(o)
	if d < 0 && d != NoExpiration {
		return nil, fmt.Errorf("region %q: %w: the expiration function returned %v, a negative expiration; return NoExpiration for none", r.name, ErrBadConfig, d)
	}
	q := *o
	q.expiration, q.expirationFunc = max(d, 0), nil
	if q.expiration == 0 {
		q.expiration = NoExpiration
	}
	return &q, nil
}

func (c *config) ttlFor(o *callOptions) time.Duration {
	if o.storeTTL > 0 {
		return o.storeTTL
	}
	return c.storeTTL
}

func (r *Region) observe(ctx context.Context, e Event) {
	if r.observer != nil {
		e.Region = r.name
		r.observer.Observe(ctx, e)
	}
}

// backendError counts and reports err from the backend, and returns it if
// the region is strict, nil (carry on without the cache) otherwise.
func (r *Region) backendError(ctx context.Context, c *config, key string, err error) error {
	r.stats.backendErrs.Add(1)
	r.observe(ctx, Event{Kind: EventBackendError, Key: key, Err: err})
	if c.strict {
		return fmt.Errorf("region %q: backend: %w", r.name, err)
	}
	return nil
}
