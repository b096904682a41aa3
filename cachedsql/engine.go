package cachedsql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/cachedsql/internal/rowset"
	"github.com/dogpile-go/dogpile/cachedsql/sqlanalysis"
	"github.com/dogpile-go/dogpile/invalidation"
	"github.com/dogpile-go/dogpile/region"
	"github.com/dogpile-go/dogpile/serializer"
)

// engine is what a DB's caching driver does with each statement: analyse it,
// serve or fill the cache for reads, and run the tag protocol for writes.
// It is shared by every connection of the DB and safe for concurrent use.
type engine struct {
	inner        *sql.DB // the database: the caller's handle, or one we opened
	s            settings
	region       *region.Region
	tags         *invalidation.Tags
	runner       region.Runner
	analyzer     *sqlanalysis.Analyzer
	memo         *otter.Cache[string, *analysis] // statement text → its analysis
	allTag       string                          // every cached read carries it; an unknown write bumps it
	views        map[string][]string             // a view's tag → the tags of the tables behind it (WithViews)
	cascades     map[string][]string             // a table's tag → the tags of the tables its writes reach (WithCascades)
	session      *sessionSettings                // the settings of its sessions that shape results, part of every key
	prepared     preparedSets                    // write sets of transactions prepared by text, until they end
	lenders      lenders                         // held sessions waiting for a key's creation, which may borrow them
	preparedHold time.Duration                   // how long prepared holds a set: preparedHold, shorter in tests
	ttlOpts      []region.CallOption             // the expiration of reads without a TTL of their own, by jitter step (see expirationFor)
	closers      []func(context.Context) error   // what the engine made and must close
}

// analysis is what the engine keeps about a statement text.
type analysis struct {
	a         *sqlanalysis.Analysis
	readTags  []string          // sorted: the tables read, and allTag
	tagged    region.CallOption // region.WithTags(readTags...), made once
	writeTags []string          // sorted: the tables written, or allTag for an unknown write
	// taints says the statement may change its session's state (SET,
	// a temporary table, a function call the analyzer cannot see into):
	// later cacheable reads on that session must run on it.
	taints bool
}

func newEngine(inner *sql.DB, driverName string, s settings) (*engine, error) {
	session, err := newSessionSettings(driverName, s.sessionSettings)
	if err != nil {
		return nil, err
	}
	e := &engine{inner: inner, s: s, analyzer: s.analyzer, session: session}
	if e.analyzer == nil {
		var opts []sqlanalysis.Option
		if e.session.query != "" {
			// The keys hold the TimeZone and locale: date_trunc and the
			// like give one result per key.
			opts = append(opts, sqlanalysis.WithTimeZoneInKey())
		}
		e.analyzer = sqlanalysis.New(opts...)
	}
	e.allTag = s.namespace + ":*"
	views, err := e.viewTags(s.views)
	if err != nil {
		return nil, err
	}
	e.views = views
	if e.cascades, err = e.relationTags(s.cascades, "WithCascades", "a table", "a table reached from"); err != nil {
		return nil, err
	}
	// The options of calls without a TTL of their own are made once, not
	// on every read: one per jitter step (one in all without jitter).
	steps := 1
	if s.jitter != 0 {
		steps = jitterSteps
	}
	e.ttlOpts = make([]region.CallOption, steps)
	for i := range e.ttlOpts {
		e.ttlOpts[i] = region.WithExpiration(e.jittered(s.ttl, i))
	}
	memo, err := otter.New(&otter.Options[string, *analysis]{MaximumSize: max(s.analyses, 16)})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadOption, err)
	}
	e.memo = memo
	e.runner = s.runner
	if e.runner == nil {
		pool, err := region.NewPool(region.PoolOptions{})
		if err != nil {
			return nil, err
		}
		e.runner = pool
		e.closers = append(e.closers, pool.Close)
	}
	switch {
	case s.region != nil:
		tags, ok := backend.Find[*invalidation.Tags](s.region.Backend())
		if !ok {
			return nil, fmt.Errorf("%w: the region's backend is a %T with no *invalidation.Tags in its proxy chain; configure the region on an *invalidation.Tags over a store that keeps tag versions", ErrBadOption, s.region.Backend())
		}
		e.region, e.tags = s.region, tags
	default:
		b := s.backend
		if b == nil {
			store, err := memory.New(memory.Options{})
			if err != nil {
				return nil, err
			}
			b = store
			e.closers = append(e.closers, func(context.Context) error { return store.Close() })
		}
		tags, err := invalidation.NewTags(b, invalidation.Options{OnError: s.onError})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadOption, err)
		}
		e.tags = tags
		e.closers = append(e.closers, tags.Close)
		ropts := []region.Option{region.WithRunner(e.runner), region.WithSerializer(setSerializer{})}
		switch {
		case s.onError != nil:
			ropts = append(ropts, region.WithObserver(errorObserver{onError: s.onError, next: s.observer}))
		case s.observer != nil:
			ropts = append(ropts, region.WithObserver(s.observer))
		}
		e.region = region.New("cachedsql:"+s.namespace, ropts...)
		// A store that keeps failing is skipped for a second at a time, so
		// that a Redis that is down or hangs costs queries nothing.
		breaker, err := backend.NewBreaker(backend.BreakerOptions{})
		if err != nil {
			return nil, err
		}
		if err := e.region.Configure(region.Config{
			Backend: tags, Wrap: []backend.Proxy{breaker},
			Expiration: s.ttl, StoreTTL: 2 * s.ttl, Invalidation: s.invalidation,
		}); err != nil {
			return nil, err
		}
	}
	e.preparedHold = preparedHold
	e.closers = append(e.closers, e.closePrepared) // first: the tags are still open
	return e, nil
}

// close closes what the engine made, newest first.
func (e *engine) close(ctx context.Context) error {
	var first error
	for _, c := range slices.Backward(e.closers) {
		if err := c(ctx); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (e *engine) report(err error) {
	if err != nil && e.s.onError != nil {
		e.s.onError(err)
	}
}

// analyze returns the statement's analysis, memoized by text. A statement
// the analyzer cannot parse is an unknown write: never cached, and it
// invalidates everything.
func (e *engine) analyze(query string) *analysis {
	if an, ok := e.memo.GetIfPresent(query); ok {
		return an
	}
	a, _ := e.analyzer.Analyze(query) // on error a is still the safe answer: not cacheable, unknown write
	an := &analysis{a: a}
	an.taints = taints(a)
	if a.Cacheable {
		an.readTags = e.tableTags(a.Reads, e.allTag)
		an.tagged = region.WithTags(an.readTags...)
	}
	switch {
	case a.UnknownWrite:
		an.writeTags = []string{e.allTag}
	case len(a.Writes) > 0:
		an.writeTags = e.writeTags(a.Writes)
	}
	e.memo.Set(query, an)
	return an
}

// taints reports whether a statement string may change its session's
// state (see analysis.taints). A single statement does unless it is a
// cacheable read, a write to named tables or transaction control; a
// string of several, unless every one of them is a write to named tables
// or transaction control (a SET among writes taints it).
func taints(a *sqlanalysis.Analysis) bool {
	if a.UnknownWrite {
		return true
	}
	if a.Statements <= 1 {
		plainWrite := len(a.Writes) > 0 && a.Kind != sqlanalysis.DDL
		return !a.Cacheable && !plainWrite && len(a.TxControl) == 0
	}
	utilities := 0
	for _, k := range a.Kinds {
		switch k {
		case sqlanalysis.Insert, sqlanalysis.Update, sqlanalysis.Delete, sqlanalysis.Merge, sqlanalysis.Truncate, sqlanalysis.Copy:
		case sqlanalysis.Utility:
			utilities++
		default:
			return true
		}
	}
	return utilities > len(a.TxControl)
}

// tableTags names tables' tags, unqualified tables in the default schema,
// and for a view ([WithViews]) the tags of the tables behind it too.
func (e *engine) tableTags(tables []sqlanalysis.Table, extra ...string) []string {
	out := slices.Clone(extra)
	for _, t := range tables {
		tag := e.tableTag(t)
		out = append(out, tag)
		out = append(out, e.views[tag]...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// The catalog of a three-part name goes: PostgreSQL accepts only the
// current database's name there, so "db".public.items is public.items,
// and must share its tag (the change listener's payloads name no catalog).
func (e *engine) tableTag(t sqlanalysis.Table) string {
	t.Catalog = ""
	if t.Schema == "" {
		t.Schema = e.s.schema
	}
	return e.s.namespace + ":t:" + t.String()
}

// userTag names a tag the caller gave.
func (e *engine) userTag(tag string) string { return e.s.namespace + ":u:" + tag }

// jitterSteps is how many TTLs the jitter spreads keys over: the TTL less
// 0, 1, …, 1023 1024ths of the jitter's share of it (for the default 5
// minutes and 10%, steps of 29 ms).
const jitterSteps = 1024

// jitterStep is the key's step: fixed per key, spread evenly over keys.
func jitterStep(key string) int { return int(fnv64a(key) % jitterSteps) }

// jittered is ttl shortened by the jitter's step-th share.
func (e *engine) jittered(ttl time.Duration, step int) time.Duration {
	frac := float64(step) / jitterSteps * e.s.jitter
	return ttl - time.Duration(float64(ttl)*frac)
}

// expirationFor returns the expiration option of a read of key: the
// call's TTL or the DB's, shortened by the jitter by an amount fixed per
// key. Only a call with a TTL of its own makes an option.
func (e *engine) expirationFor(key string, c call) region.CallOption {
	step := 0
	if e.s.jitter != 0 {
		step = jitterStep(key)
	}
	if c.ttl > 0 {
		return region.WithExpiration(e.jittered(c.ttl, step))
	}
	return e.ttlOpts[step]
}

// fnv64a is FNV-1a of s, as hash/fnv computes it, without its allocations
// (a hasher, and s copied to a []byte): it runs on every cached read.
func fnv64a(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := range len(s) {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// args turns the driver's named values back into arguments for the inner
// database/sql handle.
func args(nvs []driver.NamedValue) []any {
	out := make([]any, len(nvs))
	for i, nv := range nvs {
		if nv.Name != "" {
			out[i] = sql.Named(nv.Name, nv.Value)
		} else {
			out[i] = nv.Value
		}
	}
	return out
}

// readTags returns the tags of a cached read: its tables, allTag, and the
// caller's own.
func (e *engine) readTags(an *analysis, c call) []string {
	if len(c.tags) == 0 {
		return an.readTags
	}
	out := slices.Clone(an.readTags)
	for _, t := range c.tags {
		out = append(out, e.userTag(t))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// key returns the cache key of a cacheable read with args a, and its tags
// when the caller named some (nil otherwise: the read's own, an.readTags).
// A key is asked for with one set of tags: the same query with other tags
// from the caller is another entry, whose key covers them. The first key
// reads the session settings that keys hold, on sess when not nil.
func (e *engine) key(ctx context.Context, an *analysis, a []any, c call, sess *sql.Conn) (key string, callerTags []string, err error) {
	session, err := e.session.get(ctx, e.inner, sess)
	if err != nil {
		return "", nil, err
	}
	if len(c.tags) > 0 {
		callerTags = e.readTags(an, c)
	}
	key, err = rowset.Key(e.s.namespace, session, an.a.Normalized, a, callerTags...)
	return key, callerTags, err
}

// cacheable reports whether a read may be served from the cache.
func (e *engine) cacheable(an *analysis, c call) bool {
	return an.a.Cacheable && !c.skip && (c.use || c.refresh || !e.s.onlyOnRequest)
}

// cachedQuery returns the result of a cacheable read from the cache, or
// makes it on the database (one query per key at a time in this process,
// and across processes where the store has a creation lock). A miss runs
// on sess when the caller holds one (a held connection: with a pool of
// one, another connection would never come), on the inner pool otherwise.
// A nil set means the result was too large to cache: the caller runs it
// itself. The cache keeps a [rowset.TooLarge] marker in its place, with the
// read's tags and TTL, so that the next reads run it at once rather than
// read it twice; a write to its tables drops the marker with the rest, and
// a DB with larger limits than the marker's makes the result again. A read
// that finds the marker counts as a hit in the region's stats, though it
// runs on the database.
func (e *engine) cachedQuery(ctx context.Context, an *analysis, query string, a []any, c call, sess *sql.Conn) (*rowset.Set, error) {
	key, callerTags, err := e.key(ctx, an, a, c, sess)
	if err != nil {
		if !errors.Is(err, rowset.ErrKeyArgument) && ctx.Err() == nil {
			// The session settings could not be read (a setting named
			// with WithSessionSettings that the role may not examine,
			// say): the read runs uncached, and so will every other
			// until they can be, which the program must hear of.
			e.report(err)
		}
		return nil, errUncacheable{err}
	}
	tagged := an.tagged
	if callerTags != nil {
		tagged = region.WithTags(callerTags...)
	}
	opts := append(make([]region.CallOption, 0, 5), tagged, e.expirationFor(key, c), cacheSets, nil) // room for a store TTL
	if c.refresh {
		opts[3] = region.ForceRefresh()
	}
	if c.ttl > 0 && e.s.region == nil {
		// The DB's own region drops values after 2 × the DB's TTL: a call
		// TTL of its own keeps its values as long as its TTL says.
		// 2 × a TTL past half the largest Duration overflows, to a
		// negative store TTL that the region reads as its own: saturate.
		opts = append(opts, region.WithStoreTTL(max(2*c.ttl, c.ttl)))
	}
	lim := rowset.Limits{MaxRows: e.s.maxRows, MaxBytes: e.s.maxBytes}
	var lease *sessionLease
	if sess != nil {
		lease = &sessionLease{sess: sess, open: true}
		withdraw := e.lenders.offer(e.inner, key, lease) // see lending.go
		defer func() {
			withdraw()
			lease.end()
		}()
	}
	create := func(ctx context.Context) (*rowset.Set, error) {
		var rows *sql.Rows
		var err error
		if s := lease.take(); s != nil {
			defer lease.give()
			rows, err = s.QueryContext(ctx, query, a...)
		} else {
			var done func()
			rows, done, err = e.queryForCreation(ctx, key, query, a)
			if err == nil {
				defer done()
			}
		}
		if err != nil {
			return nil, err
		}
		set, over, err := rowset.Materialize(rows, lim)
		if err != nil {
			return nil, err
		}
		if over != nil {
			_ = over.Close()
			return rowset.TooLarge(lim), nil // every caller runs it on its own
		}
		return set, nil
	}
	set, err := region.GetOrCreate(ctx, e.region, key, create, opts...)
	if err == nil && set != nil && set.IsTooLarge() && !set.TooLargeFor(lim) {
		// A marker made under smaller limits (by another DB on the
		// namespace, or before a deploy raised them): the result may fit.
		opts[3] = region.ForceRefresh()
		set, err = region.GetOrCreate(ctx, e.region, key, create, opts...)
	}
	if err != nil {
		return nil, err
	}
	if set == nil || set.IsTooLarge() {
		return nil, nil
	}
	return set, nil
}

// sessionLease lends a caller's session to the creation of the caller's
// read for as long as the caller waits for it. The creation runs on a
// goroutine of the region's (or on its async runner), and the caller can
// leave before it: served the stale value, or its context ended. A
// creation that starts after that must not run on the session, which the
// caller may by then be using (inside a transaction, say, whose
// uncommitted rows would be cached), so it runs on the inner pool; and the
// caller, leaving, waits for a creation running on its session to end.
type sessionLease struct {
	mu   sync.Mutex
	sess *sql.Conn
	open bool // the caller still waits
}

// take returns the session, held until give, or nil once the caller has
// left (or for no lease).
func (l *sessionLease) take() *sql.Conn {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	return l.ifOpen()
}

// tryTake is take for a creation that borrows the session (see
// lending.go): nil, rather than wait, while another use holds it.
func (l *sessionLease) tryTake() *sql.Conn {
	if !l.mu.TryLock() {
		return nil
	}
	return l.ifOpen()
}

// ifOpen returns the session, l.mu held, while the caller still waits;
// once it has left, it lets l.mu go and returns nil.
func (l *sessionLease) ifOpen() *sql.Conn {
	if !l.open {
		l.mu.Unlock()
		return nil
	}
	return l.sess
}

// give ends the use take began.
func (l *sessionLease) give() { l.mu.Unlock() }

// end is the caller leaving: after a creation on its session ends, no
// other starts.
func (l *sessionLease) end() {
	l.mu.Lock()
	l.open = false
	l.mu.Unlock()
}

// cacheSets stores what a creation made: a result, or the marker of one
// too large to cache.
var cacheSets = region.ShouldCache(func(s *rowset.Set) bool { return s != nil })

// errUncacheable says a read cannot be cached (its arguments have no
// stable key): it runs on the database.
type errUncacheable struct{ err error }

func (e errUncacheable) Error() string { return "cachedsql: not cacheable: " + e.err.Error() }
func (e errUncacheable) Unwrap() error { return e.err }

// isUncacheable reports whether err is an [errUncacheable]. It is apart
// so that a read that succeeded allocates nothing here: errors.As moves its
// target to the heap, and the target is made only for an error.
func isUncacheable(err error) bool {
	if err == nil {
		return false
	}
	var unc errUncacheable
	return errors.As(err, &unc)
}

// ResultSerializer is the serializer of a DB's own region: result sets in
// their own compact encoding, anything else a program caches in the region
// (cached functions, say) with the default serializer. Give it to a region
// you make for [WithRegion] on a bytes store (region.WithSerializer).
var ResultSerializer backend.Serializer = setSerializer{}

// setSerializer is [ResultSerializer]; the first byte of a value says which
// encoding follows.
type setSerializer struct{}

const (
	encodedSet   byte = 1
	encodedOther byte = 2
)

func (setSerializer) Marshal(v any) ([]byte, error) {
	if s, ok := v.(*rowset.Set); ok {
		b := make([]byte, 1, s.Size()/2+65) // as MarshalBinary sizes it
		b[0] = encodedSet
		return s.AppendBinary(b)
	}
	data, err := serializer.Default.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append([]byte{encodedOther}, data...), nil
}

func (setSerializer) Unmarshal(data []byte, v any) error {
	if len(data) == 0 {
		return fmt.Errorf("cachedsql: empty cache value")
	}
	switch data[0] {
	case encodedSet:
		p, ok := v.(**rowset.Set)
		if !ok {
			return fmt.Errorf("cachedsql: a cached result set cannot be decoded into a %T", v)
		}
		s, err := rowset.Decode(data[1:])
		if err != nil {
			return err
		}
		*p = s
		return nil
	case encodedOther:
		return serializer.Default.Unmarshal(data[1:], v)
	}
	return fmt.Errorf("cachedsql: cache value of unknown encoding %#x", data[0])
}

// errorObserver tells the DB's error handler of the failures its region
// recovers from by itself (a store that is down, a value that cannot be
// encoded or decoded), then passes every event on.
type errorObserver struct {
	onError func(error)
	next    region.Observer
}

func (o errorObserver) Observe(ctx context.Context, e region.Event) {
	switch e.Kind {
	case region.EventBackendError, region.EventDecodeError:
		o.onError(fmt.Errorf("cachedsql: cache %s: %w", e.Kind, e.Err))
	}
	if o.next != nil {
		o.next.Observe(ctx, e)
	}
}

// parseTable reads a table name as SQL writes it: unquoted parts folded to
// lower case, quoted parts kept, schema-qualified or not.
func parseTable(name string) (sqlanalysis.Table, error) {
	a, err := sqlanalysis.Analyze("TABLE " + name)
	if err != nil || len(a.Reads) != 1 || a.Kind != sqlanalysis.Select {
		return sqlanalysis.Table{}, fmt.Errorf("%w: %q is not a table name", ErrBadOption, name)
	}
	return a.Reads[0], nil
}
