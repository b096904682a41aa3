package invalidation

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dogpile-go/dogpile/clock"
)

// DefaultChannel is the channel the triggers of package migrations notify
// on unless told otherwise.
const DefaultChannel = "dogpile_invalidate"

// maxBatchTags bounds the tags gathered for one bump: a burst of
// notifications naming more tables than this is bumped as everything.
const maxBatchTags = 1024

// ListenerOptions configure a [Listener]. The zero value of each field
// means its default; Tags and one of ConnString and Config are required.
type ListenerOptions struct {
	// ConnString names the database, as pgx.ParseConfig reads it (a URL or
	// key=value pairs). Set this or Config.
	ConnString string
	// Config is the connection's configuration, as pgx.ParseConfig made
	// it; the Listener connects with a copy each time. Set this or
	// ConnString. When neither sets application_name, the Listener's
	// connection is named "dogpile-listener" in pg_stat_activity; when
	// neither sets idle_session_timeout, the Listener turns it off for its
	// connection, which is idle by design. A Config's OnNotification is
	// called after the Listener has taken each notification.
	Config *pgx.ConnConfig
	// Channel is the channel to LISTEN on, as the migrations were
	// installed with. Default: [DefaultChannel].
	Channel string
	// Tags is the tag protocol to bump: the one this process's regions are
	// configured on (cachedsql.DB.Tags), so that its own reads see the
	// bypass while the Listener is down (see [Listener]). Required.
	Tags *Tags
	// TagsOf maps a change to the tags to bump. TagsOf(Change{All: true})
	// must be tags that every read this Listener guards carries: they are
	// bumped on every (re)connection, and held while it is down. It is
	// called for every notification and must be quick. Default:
	// [CachedSQLTags]() (cachedsql's default namespace).
	TagsOf func(Change) []string
	// Backoff paces reconnection attempts. Default: see [Backoff].
	Backoff Backoff
	// ConnectTimeout bounds one connection attempt (connect and LISTEN)
	// and one ping. Default: 10s.
	ConnectTimeout time.Duration
	// BumpTimeout bounds one bump: past it (or as soon as the store
	// refuses), the bump is left to [Tags.Invalidate]'s background retry,
	// and this process bypasses its tags until it lands. Default: 1s.
	BumpTimeout time.Duration
	// PingEvery is how long the connection may stay silent before the
	// Listener pings the server, which is how it notices a connection
	// that died without a word (a network partition). Default: 15s.
	PingEvery time.Duration
	// ServeWhileDown keeps this process serving cached reads while the
	// Listener is down. By default it bypasses the cache for every tag the
	// Listener guards until it is healthy again, since writes it cannot
	// hear of may commit meanwhile. Set it to protect the database rather
	// than freshness; everything is invalidated on reconnection either way.
	ServeWhileDown bool
	// OnEvent, when set, is told of each [ListenerEvent]: connections,
	// health changes, bumps and malformed payloads, for logs and metrics.
	// It is called from the Listener's goroutines and must not block.
	OnEvent func(ListenerEvent)
	// Clock stamps events and measures delays. Default: [clock.System].
	Clock clock.Clock
}

// Backoff paces reconnection: the n-th attempt in a row waits Min·2ⁿ⁻¹,
// at most Max, shortened by a random fraction of up to Jitter so that the
// processes that lost a server together do not come back together. The
// count starts again after a connection that stayed healthy for Max.
type Backoff struct {
	// Min is the pause before the first reconnection. Default: 100ms.
	Min time.Duration
	// Max bounds the pause. Default: 10s.
	Max time.Duration
	// Jitter is the largest fraction of a pause cut at random, at most 1.
	// Default: 0.2; negative means none.
	Jitter float64
}

func (b Backoff) withDefaults() Backoff {
	if b.Min <= 0 {
		b.Min = 100 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 10 * time.Second
	}
	b.Max = max(b.Max, b.Min)
	// A negative Jitter stays negative, so that defaults applied twice
	// keep meaning "none".
	switch {
	case b.Jitter == 0:
		b.Jitter = 0.2
	case b.Jitter > 1:
		b.Jitter = 1
	}
	return b
}

// Delay returns the pause before attempt (1 for the first reconnection),
// with r, in [0, 1), choosing the jitter: r = 0 gives the full pause.
// Zero fields take their defaults.
func (b Backoff) Delay(attempt int, r float64) time.Duration {
	b = b.withDefaults()
	d := b.Min
	for i := 1; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	return d - time.Duration(float64(d)*max(b.Jitter, 0)*min(max(r, 0), 1))
}

// ListenerEventKind says what a [ListenerEvent] reports.
type ListenerEventKind uint8

const (
	// ListenerListening: a connection is made and LISTEN is in effect
	// (PID, Reconnect). Everything is invalidated next.
	ListenerListening ListenerEventKind = iota + 1
	// ListenerHealthy: everything the Listener guards was invalidated
	// after it connected, and it is healthy. Err, when set, wraps
	// [ErrDeferred]: the store refused the bump, which Tags retries while
	// this process bypasses those tags.
	ListenerHealthy
	// ListenerDown: a connection attempt failed or the connection was
	// lost (Err wraps [ErrListenerDown]); the next attempt is the
	// Attempt-th in a row and comes after Delay.
	ListenerDown
	// ListenerApplied: Notifications notifications, the first received at
	// Received, were turned into a bump of Tags, which returned at At.
	// Err, when set, wraps [ErrDeferred] (left to the retry) or
	// [ErrClosed].
	ListenerApplied
	// ListenerBadPayload: a notification's Payload could not be read (Err
	// wraps [ErrBadPayload]); it counts as a change to every table.
	ListenerBadPayload
)

// String names the kind, as in logs: "listening", "healthy", "down",
// "applied", "bad payload".
func (k ListenerEventKind) String() string {
	switch k {
	case ListenerListening:
		return "listening"
	case ListenerHealthy:
		return "healthy"
	case ListenerDown:
		return "down"
	case ListenerApplied:
		return "applied"
	case ListenerBadPayload:
		return "bad payload"
	}
	return fmt.Sprintf("ListenerEventKind(%d)", uint8(k))
}

// A ListenerEvent is something a [Listener] did or met; Kind says which
// fields are set.
type ListenerEvent struct {
	Kind ListenerEventKind
	At   time.Time // when it happened
	Err  error

	PID       uint32 // Listening, Healthy: the server process of the connection
	Reconnect bool   // Listening: not the Listener's first connection

	Attempt int           // Down: the number of the next attempt in a row
	Delay   time.Duration // Down: the pause before it

	Tags          []string  // Applied: the tags bumped, sorted
	Notifications int       // Applied: how many notifications the bump covers
	Received      time.Time // Applied: when the first of them was received

	Payload string // BadPayload
}

// ListenerStats is a snapshot of a [Listener]'s health and counters.
type ListenerStats struct {
	// Healthy is [Listener.Healthy]; Since is when it last changed.
	Healthy bool
	Since   time.Time
	// PID is the server process of the current connection, 0 while down.
	PID uint32
	// Connects counts connections made (LISTEN in effect); Reconnects
	// those after the first; Resets the invalidations of everything that
	// followed them.
	Connects, Reconnects, Resets uint64
	// Notifications counts notifications received; Applied those whose
	// bump landed at once; Deferred those whose bump was left to
	// [Tags.Invalidate]'s retry; Dropped those whose bump the Tags refused
	// and will not retry (it was closed); BadPayloads those read as
	// "everything"; Batches the bumps made (several notifications received
	// while a bump is under way share the next one).
	Notifications, Applied, Deferred, Dropped, BadPayloads, Batches uint64
	// Backlog is the notifications received and not yet handed to the
	// store.
	Backlog int
	// LastApplyDelay and MaxApplyDelay measure this process's share of the
	// lag: from receiving a notification to its bump returning. The
	// server's share (from the commit to the notification's arrival) is
	// not visible from here; see [Listener].
	LastApplyDelay, MaxApplyDelay time.Duration
	// LastError is why the Listener is, or last was, down (wrapping
	// [ErrListenerDown]), at LastErrorAt; nil if it never was.
	LastError   error
	LastErrorAt time.Time
}

// Listener turns PostgreSQL change notifications, sent by the triggers of
// package migrations when a write to a watched table commits, into tag
// bumps, so that writes this process never saw (psql, other services,
// migrations) invalidate the cache. One per process is enough; every
// process that serves from the cache should run one (several processes
// sharing a store each bump it, which is harmless: bumps only move
// versions forward).
//
//	l, err := invalidation.NewListener(invalidation.ListenerOptions{
//		ConnString: os.Getenv("DATABASE_URL"),
//		Tags:       db.Tags(), // a *cachedsql.DB's
//		TagsOf:     invalidation.CachedSQLTags("app"),
//	})
//	…
//	go l.Run(ctx)
//	_ = l.WaitHealthy(ctx) // optional: start serving once it listens
//
// # Reconnection
//
// Notifications sent while a listener is not connected are lost, so on
// every connection, the first included, the Listener runs LISTEN, then
// invalidates everything it guards (the tags of Change{All: true}), and
// only then reports healthy. It reconnects by itself, with [Backoff], when
// a connection cannot be made or is lost (a server restart,
// pg_terminate_backend, a network failure, found by a ping after
// PingEvery of silence).
//
// # Health and bypass
//
// While it is not healthy (from its start, or from noticing a lost
// connection, until the invalidation that follows the next connection),
// this process treats the tags of Change{All: true} as pending on its
// Tags: its regions neither serve nor fill values carrying them, and read
// the database instead. That keeps the design's promise (no stale read
// after a commit) for writes made while the Listener was deaf, at the
// price of load on the database while it is down; ServeWhileDown trades
// the other way. The bypass is this process's alone: other processes
// sharing the store keep serving, guarded by their own listeners (a bump
// from any healthy listener reaches every process), so a process that runs
// no listener is guarded only while some other process's is healthy. The
// window no listener can close is the time it takes to notice a dead
// connection, during which it still serves: at most PingEvery plus
// ConnectTimeout when the network drops silently, at once when the server
// closes the connection (a restart, pg_terminate_backend).
//
// # Lag
//
// A notification leaves the server when the write commits; the Listener
// reads it, maps it to tags and bumps them, gathering the notifications
// that arrive while a bump is under way into the next one. The payload
// carries no commit time (the triggers' SQL is fixed), so the Listener
// cannot measure the full commit-to-invalidation lag itself; it reports
// what it can measure honestly: notifications received, applied and
// deferred, its backlog, and the delay from receipt to the bump landing
// ([ListenerStats]). The end-to-end lag is measured by this package's
// tests against a real server.
//
// A Listener is safe for concurrent use by multiple goroutines.
type Listener struct {
	o             ListenerOptions             // with defaults
	cfg           *pgx.ConnConfig             // copied for each connection
	all           []string                    // TagsOf(Change{All: true}), sorted
	listen        string                      // the LISTEN statement
	unidle        string                      // run before it: unidleSession, unless the options set idle_session_timeout
	beforeConnect func(context.Context) error // set by tests, before Run

	healthy atomic.Bool
	holding bool // the Listener holds all on Tags; touched by the Run goroutine only
	deaf    bool // writes may have committed unheard since the last invalidation of everything; Run goroutine only
	wake    chan struct{}

	mu        sync.Mutex
	started   bool                // guarded by mu
	healthyCh chan struct{}       // closed while healthy; guarded by mu
	stats     ListenerStats       // guarded by mu
	batch     map[string]struct{} // tags of notifications not yet bumped; guarded by mu
	batchAll  bool                // batch holds all and nothing more is needed; guarded by mu
	batchN    int                 // notifications in batch; guarded by mu
	batchAt   time.Time           // when the first of them was received; guarded by mu
	cancel    context.CancelFunc  // stops what Start started; guarded by mu
	done      chan struct{}       // closed when what Start started returned; guarded by mu
	runErr    error               // what Start's Run returned; read after done
}

// NewListener checks o and makes a Listener; [Listener.Run] or
// [Listener.Start] sets it to work.
func NewListener(o ListenerOptions) (*Listener, error) {
	if o.Tags == nil {
		return nil, fmt.Errorf("%w: ListenerOptions.Tags is required", ErrBadOptions)
	}
	var cfg *pgx.ConnConfig
	switch {
	case o.Config != nil && o.ConnString != "":
		return nil, fmt.Errorf("%w: set one of ListenerOptions.ConnString and Config, not both", ErrBadOptions)
	case o.Config != nil:
		cfg = o.Config.Copy()
	case o.ConnString != "":
		c, err := pgx.ParseConfig(o.ConnString)
		if err != nil {
			return nil, fmt.Errorf("%w: ConnString: %w", ErrBadOptions, err)
		}
		cfg = c
	default:
		return nil, fmt.Errorf("%w: ListenerOptions needs a ConnString or a Config", ErrBadOptions)
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "dogpile-listener"
	}
	if o.Channel == "" {
		o.Channel = DefaultChannel
	}
	if len(o.Channel) > 63 {
		// PostgreSQL truncates a longer LISTEN name but refuses it in
		// pg_notify: the Listener would wait on a channel nobody uses.
		return nil, fmt.Errorf("%w: Channel %q is %d bytes long; PostgreSQL allows 63", ErrBadOptions, o.Channel, len(o.Channel))
	}
	if o.TagsOf == nil {
		o.TagsOf = CachedSQLTags()
	}
	all := sortedSet(o.TagsOf(Change{All: true}))
	if len(all) == 0 {
		return nil, fmt.Errorf("%w: TagsOf(Change{All: true}) returned no tags; it must name what every guarded read carries", ErrBadOptions)
	}
	for name, d := range map[string]time.Duration{"ConnectTimeout": o.ConnectTimeout, "BumpTimeout": o.BumpTimeout, "PingEvery": o.PingEvery, "Backoff.Min": o.Backoff.Min, "Backoff.Max": o.Backoff.Max} {
		if d < 0 {
			return nil, fmt.Errorf("%w: %s is negative (%v)", ErrBadOptions, name, d)
		}
	}
	o.Backoff = o.Backoff.withDefaults()
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.BumpTimeout == 0 {
		o.BumpTimeout = time.Second
	}
	if o.PingEvery == 0 {
		o.PingEvery = 15 * time.Second
	}
	if o.Clock == nil {
		o.Clock = clock.System
	}
	l := &Listener{
		o: o, cfg: cfg, all: all,
		listen:    "LISTEN " + pgx.Identifier{o.Channel}.Sanitize(),
		unidle:    unidleSession,
		wake:      make(chan struct{}, 1),
		healthyCh: make(chan struct{}),
		batch:     map[string]struct{}{},
	}
	if _, set := cfg.RuntimeParams["idle_session_timeout"]; set {
		// Whoever set it meant it.
		l.unidle = ""
	}
	if user := cfg.OnNotification; user != nil {
		// pgx hands notifications to OnNotification instead of queueing
		// them for WaitForNotification: the Listener would hear nothing.
		// It takes them here, then calls the Config's own.
		cfg.OnNotification = func(c *pgconn.PgConn, n *pgconn.Notification) {
			if n.Channel == o.Channel {
				l.receive(n.Payload)
			}
			user(c, n)
		}
	}
	return l, nil
}

// Healthy reports whether the Listener is connected, listening, and has
// invalidated everything since it connected: whether every write that
// commits now will reach the cache through it.
func (l *Listener) Healthy() bool { return l.healthy.Load() }

// LastError returns why the Listener is, or last was, down, wrapping
// [ErrListenerDown]; nil if it never was.
func (l *Listener) LastError() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats.LastError
}

// Stats returns a snapshot of the Listener's health and counters.
func (l *Listener) Stats() ListenerStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.stats
	s.Healthy = l.healthy.Load()
	s.Backlog = l.batchN
	return s
}

// WaitHealthy waits until the Listener is healthy, or ctx ends.
func (l *Listener) WaitHealthy(ctx context.Context) error {
	l.mu.Lock()
	ch := l.healthyCh
	l.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		if err := l.LastError(); err != nil {
			return fmt.Errorf("%w (waiting for the listener: %w)", ctx.Err(), err)
		}
		return ctx.Err()
	}
}

// Start runs the Listener in a goroutine of its own until [Listener.Close].
func (l *Listener) Start() error {
	l.mu.Lock()
	if l.started {
		l.mu.Unlock()
		return ErrListenerRunning
	}
	l.started = true
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel, l.done = cancel, make(chan struct{})
	done := l.done
	l.mu.Unlock()
	go func() {
		defer close(done)
		l.runErr = l.run(ctx)
	}()
	return nil
}

// Close stops a Listener that [Listener.Start] started and returns once it
// has stopped, with what Run returned. A Listener that Run runs stops when
// Run's context ends; Close on a Listener that never ran keeps it from
// running.
func (l *Listener) Close() error {
	l.mu.Lock()
	l.started = true
	cancel, done := l.cancel, l.done
	l.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	<-done
	return l.runErr
}

// Run listens, reconnecting as needed, until ctx ends, and then returns
// nil. It returns an error only when it cannot go on: the Tags was closed
// ([ErrClosed]), or the Listener already ran ([ErrListenerRunning]). When
// it returns, this process stops bypassing the tags it held while down:
// from then on, writes it did not see reach the cache only on expiry. If
// it was down when it stopped, it invalidates everything it guards first,
// as a reconnection would, since writes may have committed unheard.
func (l *Listener) Run(ctx context.Context) error {
	l.mu.Lock()
	if l.started {
		l.mu.Unlock()
		return ErrListenerRunning
	}
	l.started = true
	l.mu.Unlock()
	return l.run(ctx)
}

func (l *Listener) run(ctx context.Context) error {
	// Down until the first connection has invalidated everything: a cache
	// that outlived this process's last listener may be stale already.
	l.hold()
	l.deaf = true
	applyCtx, stopApply := context.WithCancel(context.Background())
	applied := make(chan struct{})
	go func() {
		defer close(applied)
		l.applyLoop(applyCtx)
	}()
	defer func() {
		stopApply()
		<-applied
		l.apply() // what arrived before the end is owed all the same
		l.coverDeafness()
		l.release()
	}()

	attempt := 0
	for {
		healthyFor, err := l.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrClosed) {
			return err
		}
		if healthyFor >= l.o.Backoff.Max {
			attempt = 0
		}
		attempt++
		delay := l.o.Backoff.Delay(attempt, rand.Float64())
		l.event(ListenerEvent{Kind: ListenerDown, Err: err, Attempt: attempt, Delay: delay})
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// session connects, invalidates everything, and reads notifications until
// the connection fails or ctx ends. It returns how long the Listener was
// healthy, and why it stopped (wrapping ErrListenerDown, or ErrClosed).
func (l *Listener) session(ctx context.Context) (healthyFor time.Duration, err error) {
	conn, err := l.connect(ctx)
	if err != nil {
		err = fmt.Errorf("%w: %w", ErrListenerDown, err)
		l.down(ctx, err)
		return 0, err
	}
	var upAt time.Time
	defer func() {
		// Down first, so that the bypass is in place before anything
		// waits on the dead connection.
		l.down(ctx, err)
		if !upAt.IsZero() {
			healthyFor = l.o.Clock.Now().Sub(upAt)
		}
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	pid := conn.PgConn().PID()
	l.mu.Lock()
	l.stats.Connects++
	reconnect := l.stats.Connects > 1
	if reconnect {
		l.stats.Reconnects++
	}
	l.stats.PID = pid
	l.mu.Unlock()
	l.event(ListenerEvent{Kind: ListenerListening, PID: pid, Reconnect: reconnect})

	// LISTEN is in effect: every write that commits from now on sends
	// this connection a notification. A write that committed earlier,
	// while no connection listened, was heard by no one; the bump below
	// starts after LISTEN returned, so after every such commit, and so
	// moves the versions past any entry filled from rows older than it (a
	// reader that read the versions after the bump queries the database
	// after that commit too, and sees it). Each write is thus either
	// notified or covered by the bump. Bumping before LISTEN would leave
	// a gap: a write committed between the bump and LISTEN is neither,
	// and a reader filling the cache in between keeps it stale. Health
	// comes last: until the bump has landed (or Tags, which took it over,
	// holds its tags), this process must keep bypassing the cache.
	bumpCtx, cancel := context.WithTimeout(ctx, l.o.BumpTimeout)
	ierr := l.o.Tags.Invalidate(bumpCtx, l.all...)
	cancel()
	if errors.Is(ierr, ErrClosed) {
		return 0, ierr
	}
	l.mu.Lock()
	l.stats.Resets++
	l.mu.Unlock()
	upAt = l.up()
	l.event(ListenerEvent{Kind: ListenerHealthy, PID: pid, Err: ierr})

	for {
		wctx, cancel := context.WithTimeout(ctx, l.o.PingEvery)
		n, werr := conn.WaitForNotification(wctx)
		cancel()
		if n != nil {
			l.receive(n.Payload)
		}
		switch {
		case werr == nil:
			continue
		case ctx.Err() != nil:
			return 0, ctx.Err()
		case errors.Is(werr, context.DeadlineExceeded) && !conn.IsClosed():
			// Silence: make sure the connection is still there.
			pctx, cancel := context.WithTimeout(ctx, l.o.ConnectTimeout)
			perr := conn.Ping(pctx)
			cancel()
			if perr == nil {
				continue
			}
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			return 0, fmt.Errorf("%w: ping: %w", ErrListenerDown, perr)
		default:
			return 0, fmt.Errorf("%w: %w", ErrListenerDown, werr)
		}
	}
}

// connect makes a connection and LISTENs on it.
func (l *Listener) connect(ctx context.Context) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, l.o.ConnectTimeout)
	defer cancel()
	if l.beforeConnect != nil {
		if err := l.beforeConnect(ctx); err != nil {
			return nil, err
		}
	}
	conn, err := pgx.ConnectConfig(ctx, l.cfg.Copy())
	if err != nil {
		return nil, err
	}
	for _, stmt := range []string{l.unidle, l.listen} {
		if stmt == "" {
			continue
		}
		if _, err := conn.Exec(ctx, stmt); err != nil {
			closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_ = conn.Close(closeCtx)
			return nil, fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return conn, nil
}

// unidleSession turns idle_session_timeout off for the session, where the
// server has it (PostgreSQL 14 and later; older servers refuse the name,
// hence the lookup in pg_settings rather than a SET or a startup
// parameter). The Listener's connection is idle by design, between
// notifications and pings: a timeout shorter than PingEvery would end it
// again and again, and each reconnection invalidates everything.
const unidleSession = `SELECT pg_catalog.set_config('idle_session_timeout', '0', false) FROM pg_catalog.pg_settings WHERE name = 'idle_session_timeout'`

// coverDeafness invalidates everything when the Listener stops while it
// is deaf. Releasing the bypass alone would let this process serve
// entries filled before writes that committed while no connection
// listened, and nothing would ever bump them: the reconnection that
// would have is not coming. A bump the store refuses is Tags' to retry,
// and Tags keeps the tags held until it lands. A Listener stopped while
// healthy missed nothing, and leaves the cache alone.
func (l *Listener) coverDeafness() {
	if !l.deaf {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.o.BumpTimeout)
	defer cancel()
	_ = l.o.Tags.Invalidate(ctx, l.all...) // a refusal reaches Options.OnError
}

// up makes the Listener healthy once everything was invalidated, and
// returns when.
func (l *Listener) up() time.Time {
	l.release()
	l.deaf = false
	now := l.o.Clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.healthy.Store(true)
	l.stats.Since = now
	close(l.healthyCh)
	return now
}

// down makes the Listener unhealthy, after putting the bypass in place so
// that whoever sees Healthy() false can count on it. A ctx that ended is
// a stop, not a failure: no error is recorded.
func (l *Listener) down(ctx context.Context, err error) {
	l.hold()
	if ctx.Err() == nil {
		// A failure, not a stop: from now on writes may go unheard.
		l.deaf = true
	}
	now := l.o.Clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.healthy.Load() {
		l.healthy.Store(false)
		l.stats.Since = now
		l.healthyCh = make(chan struct{})
	}
	l.stats.PID = 0
	if err != nil && ctx.Err() == nil {
		l.stats.LastError, l.stats.LastErrorAt = err, now
	}
}

// hold makes this process treat the tags of everything as pending, unless
// ServeWhileDown. Called by the Run goroutine only, as is release.
func (l *Listener) hold() {
	if l.holding || l.o.ServeWhileDown {
		return
	}
	l.o.Tags.hold(l.all)
	l.holding = true
}

func (l *Listener) release() {
	if !l.holding {
		return
	}
	l.o.Tags.unhold(l.all)
	l.holding = false
}

// receive adds a notification's tags to the next bump. It never waits on
// the store: a listener that stops reading holds up the server's
// notification queue, which every writer to a watched table shares.
func (l *Listener) receive(payload string) {
	now := l.o.Clock.Now()
	c, err := ParsePayload(payload)
	if err != nil {
		c = Change{All: true}
		l.event(ListenerEvent{Kind: ListenerBadPayload, Payload: payload, Err: err})
	}
	tags := l.all
	if !c.All {
		tags = l.o.TagsOf(c)
	}
	l.mu.Lock()
	l.stats.Notifications++
	if err != nil {
		l.stats.BadPayloads++
	}
	if l.batchN == 0 {
		l.batchAt = now
	}
	l.batchN++
	switch {
	case l.batchAll:
	case c.All || len(l.batch)+len(tags) > maxBatchTags:
		clear(l.batch)
		for _, tag := range l.all {
			l.batch[tag] = struct{}{}
		}
		l.batchAll = true
	default:
		for _, tag := range tags {
			l.batch[tag] = struct{}{}
		}
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// applyLoop bumps what receive gathered, one bump at a time, until ctx
// ends.
func (l *Listener) applyLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.wake:
		}
		l.apply()
	}
}

// apply bumps the gathered tags, waiting at most BumpTimeout: past it the
// bump is Tags' to retry.
func (l *Listener) apply() {
	l.mu.Lock()
	n, at := l.batchN, l.batchAt
	tags := make([]string, 0, len(l.batch))
	for tag := range l.batch {
		tags = append(tags, tag)
	}
	clear(l.batch)
	l.batchAll, l.batchN = false, 0
	l.mu.Unlock()
	if n == 0 {
		return
	}
	slices.Sort(tags)
	ctx, cancel := context.WithTimeout(context.Background(), l.o.BumpTimeout)
	err := l.o.Tags.Invalidate(ctx, tags...)
	cancel()
	now := l.o.Clock.Now()
	delay := now.Sub(at)
	l.mu.Lock()
	l.stats.Batches++
	switch {
	case err == nil:
		l.stats.Applied += uint64(n)
	case errors.Is(err, ErrDeferred):
		l.stats.Deferred += uint64(n)
	default: // ErrClosed: nothing retries it
		l.stats.Dropped += uint64(n)
	}
	l.stats.LastApplyDelay = delay
	l.stats.MaxApplyDelay = max(l.stats.MaxApplyDelay, delay)
	l.mu.Unlock()
	l.event(ListenerEvent{Kind: ListenerApplied, At: now, Tags: tags, Notifications: n, Received: at, Err: err})
}

func (l *Listener) event(e ListenerEvent) {
	if l.o.OnEvent == nil {
		return
	}
	if e.At.IsZero() {
		e.At = l.o.Clock.Now()
	}
	l.o.OnEvent(e)
}
