package invalidation_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/cachedsql"
	"github.com/dogpile-go/dogpile/internal/testenv"
	"github.com/dogpile-go/dogpile/invalidation"
	"github.com/dogpile-go/dogpile/migrations"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestBackoffDelay(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name    string
		b       invalidation.Backoff
		attempt int
		r       float64
		want    time.Duration
	}{
		{"defaults, first", invalidation.Backoff{}, 1, 0, 100 * ms},
		{"defaults, doubles", invalidation.Backoff{}, 4, 0, 800 * ms},
		{"defaults, capped", invalidation.Backoff{}, 30, 0, 10 * time.Second},
		{"defaults, huge attempt", invalidation.Backoff{}, math.MaxInt, 0, 10 * time.Second},
		{"defaults, most jitter", invalidation.Backoff{}, 1, 0.999999, 80*ms + 20*time.Nanosecond},
		{"defaults, half jitter", invalidation.Backoff{}, 2, 0.5, 180 * ms},
		{"attempt 0 is the first", invalidation.Backoff{Min: 10 * ms}, 0, 0, 10 * ms},
		{"no jitter", invalidation.Backoff{Min: 10 * ms, Max: 50 * ms, Jitter: -1}, 3, 0.9, 40 * ms},
		{"capped at max", invalidation.Backoff{Min: 10 * ms, Max: 50 * ms, Jitter: -1}, 4, 0, 50 * ms},
		{"full jitter", invalidation.Backoff{Min: 10 * ms, Jitter: 1}, 1, 0.5, 5 * ms},
		{"jitter above 1 is 1", invalidation.Backoff{Min: 10 * ms, Jitter: 7}, 1, 0.5, 5 * ms},
		{"r out of range is clamped", invalidation.Backoff{Min: 10 * ms, Jitter: 0.5}, 1, 3, 5 * ms},
		{"max below min is min", invalidation.Backoff{Min: 10 * ms, Max: ms, Jitter: -1}, 5, 0, 10 * ms},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.b.Delay(tc.attempt, tc.r); got != tc.want {
				t.Errorf("%+v.Delay(%d, %v) = %v, want %v", tc.b, tc.attempt, tc.r, got, tc.want)
			}
		})
	}
}

func TestBackoffDelayBounds(t *testing.T) {
	b := invalidation.Backoff{Min: 3 * time.Millisecond, Max: 70 * time.Millisecond, Jitter: 0.3}
	prev := time.Duration(0)
	for attempt := 1; attempt < 100; attempt++ {
		full := b.Delay(attempt, 0)
		if full < prev || full > b.Max {
			t.Fatalf("attempt %d: %v after %v (max %v)", attempt, full, prev, b.Max)
		}
		prev = full
		for _, r := range []float64{0.1, 0.5, 0.99} {
			if d := b.Delay(attempt, r); d > full || float64(d) < 0.7*float64(full) {
				t.Fatalf("attempt %d, r %v: %v outside [0.7, 1]×%v", attempt, r, d, full)
			}
		}
	}
}

func TestNewListenerOptions(t *testing.T) {
	tags := listenerTags(t, nil)
	cfg := mustParse(t, "postgres://127.0.0.1:1/x")
	for _, tc := range []struct {
		name string
		o    invalidation.ListenerOptions
		want string // in the error; "" for none
	}{
		{"minimal", invalidation.ListenerOptions{ConnString: "postgres://127.0.0.1:1/x", Tags: tags}, ""},
		{"config", invalidation.ListenerOptions{Config: cfg, Tags: tags}, ""},
		{"no tags", invalidation.ListenerOptions{ConnString: "postgres://127.0.0.1:1/x"}, "Tags is required"},
		{"no database", invalidation.ListenerOptions{Tags: tags}, "needs a ConnString or a Config"},
		{"both", invalidation.ListenerOptions{ConnString: "postgres://127.0.0.1:1/x", Config: cfg, Tags: tags}, "not both"},
		{"bad conn string", invalidation.ListenerOptions{ConnString: "host=x port=notaport", Tags: tags}, "ConnString"},
		{"long channel", invalidation.ListenerOptions{ConnString: "postgres://127.0.0.1:1/x", Tags: tags, Channel: strings.Repeat("c", 64)}, "63"},
		{"negative timeout", invalidation.ListenerOptions{ConnString: "postgres://127.0.0.1:1/x", Tags: tags, BumpTimeout: -1}, "BumpTimeout is negative"},
		{"negative backoff", invalidation.ListenerOptions{ConnString: "postgres://127.0.0.1:1/x", Tags: tags, Backoff: invalidation.Backoff{Max: -1}}, "Backoff.Max is negative"},
		{"nothing for everything", invalidation.ListenerOptions{ConnString: "postgres://127.0.0.1:1/x", Tags: tags,
			TagsOf: func(invalidation.Change) []string { return nil }}, "returned no tags"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := invalidation.NewListener(tc.o)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("NewListener: %v", err)
			case tc.want == "":
				if l == nil || l.Healthy() {
					t.Fatalf("NewListener = %v, healthy before it ran", l)
				}
			case !errors.Is(err, invalidation.ErrBadOptions) || !strings.Contains(err.Error(), tc.want):
				t.Fatalf("NewListener: %v; want ErrBadOptions saying %q", err, tc.want)
			}
		})
	}
}

// TestListenerDownWithoutServer runs a listener against a port nobody
// listens on: it keeps retrying with its backoff, stays unhealthy, makes
// this process bypass everything it guards, and lets go when stopped.
func TestListenerDownWithoutServer(t *testing.T) {
	for _, serve := range []bool{false, true} {
		t.Run(fmt.Sprintf("ServeWhileDown=%v", serve), func(t *testing.T) {
			tags := listenerTags(t, nil)
			rec := &eventRecorder{}
			l, err := invalidation.NewListener(invalidation.ListenerOptions{
				ConnString:     "postgres://postgres@127.0.0.1:1/none?connect_timeout=1",
				Tags:           tags,
				TagsOf:         invalidation.CachedSQLTags("ns"),
				Backoff:        invalidation.Backoff{Min: time.Millisecond, Max: 4 * time.Millisecond, Jitter: -1},
				ServeWhileDown: serve,
				OnEvent:        rec.record,
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			ran := make(chan error, 1)
			go func() { ran <- l.Run(ctx) }()
			waitUntil(t, 5*time.Second, "four failed attempts", func() bool { return len(rec.of(invalidation.ListenerDown)) >= 4 })
			if l.Healthy() {
				t.Error("healthy without a server")
			}
			wantHeld := []string{"ns:*"}
			if serve {
				wantHeld = []string{}
			}
			if got := tags.Held(); !slices.Equal(got, wantHeld) {
				t.Errorf("held while down: %q, want %q", got, wantHeld)
			}
			if err := l.LastError(); !errors.Is(err, invalidation.ErrListenerDown) {
				t.Errorf("LastError = %v, want ErrListenerDown", err)
			}
			for i, e := range rec.of(invalidation.ListenerDown)[:4] {
				want := min(time.Millisecond<<i, 4*time.Millisecond)
				if e.Attempt != i+1 || e.Delay != want || !errors.Is(e.Err, invalidation.ErrListenerDown) {
					t.Errorf("down event %d: attempt %d, delay %v, err %v; want attempt %d, delay %v", i, e.Attempt, e.Delay, e.Err, i+1, want)
				}
			}
			wctx, wcancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
			defer wcancel()
			if err := l.WaitHealthy(wctx); !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, invalidation.ErrListenerDown) {
				t.Errorf("WaitHealthy = %v, want the deadline and the reason", err)
			}
			if err := l.Run(t.Context()); !errors.Is(err, invalidation.ErrListenerRunning) {
				t.Errorf("second Run = %v, want ErrListenerRunning", err)
			}
			if err := l.Start(); !errors.Is(err, invalidation.ErrListenerRunning) {
				t.Errorf("Start while running = %v, want ErrListenerRunning", err)
			}
			cancel()
			if err := <-ran; err != nil {
				t.Errorf("Run = %v after its context ended, want nil", err)
			}
			if got := tags.Held(); len(got) != 0 {
				t.Errorf("held after Run returned: %q", got)
			}
		})
	}
}

// TestListenerPropagatesWrites: writes made by psql, a separate process,
// reach reads through a cachedsql.DB; a notification that cannot be read
// invalidates everything.
func TestListenerPropagatesWrites(t *testing.T) {
	f := newPGFixture(t, testenv.PostgresDB(t), pgFixtureOptions{})
	f.start(t)
	// LISTEN, then everything invalidated, then healthy. The Healthy event
	// follows the state that WaitHealthy waits for: wait for it too.
	waitUntil(t, 5*time.Second, "the healthy event", func() bool { return len(f.rec.of(invalidation.ListenerHealthy)) == 1 })
	if got := f.rec.kinds(); !slices.Equal(got, []invalidation.ListenerEventKind{invalidation.ListenerListening, invalidation.ListenerHealthy}) {
		t.Errorf("events on start: %v", got)
	}
	f.wantCached(t, 0)

	testenv.Psql(t, f.dsn, "UPDATE items SET v = 1 WHERE id = 1")
	f.waitRead(t, 1)
	f.wantCached(t, 1)

	// A write to a table the listener maps to other tags leaves this one
	// cached.
	hits := f.db.Region().Stats().Hits
	testenv.Psql(t, f.dsn, "INSERT INTO others VALUES (1)")
	waitUntil(t, 5*time.Second, "the notification of others", func() bool { return f.l.Stats().Notifications == 2 })
	f.wantCached(t, 1)
	if f.db.Region().Stats().Hits <= hits {
		t.Error("a write to another table invalidated items")
	}

	// A payload no trigger sends counts as everything.
	before := f.version(t, "lt:*")
	testenv.Psql(t, f.dsn, "SELECT pg_notify('dogpile_invalidate', 'not a payload')")
	waitUntil(t, 5*time.Second, "the bad payload's bump", func() bool { return f.version(t, "lt:*") != before })
	bad := f.rec.of(invalidation.ListenerBadPayload)
	if len(bad) != 1 || bad[0].Payload != "not a payload" || !errors.Is(bad[0].Err, invalidation.ErrBadPayload) {
		t.Errorf("bad payload events: %+v", bad)
	}
	s := f.l.Stats()
	if s.Notifications != 3 || s.Applied != 3 || s.BadPayloads != 1 || s.Deferred != 0 || s.Backlog != 0 || s.Connects != 1 || s.Reconnects != 0 || s.Resets != 1 {
		t.Errorf("stats: %+v", s)
	}
	if s.PID == 0 || !s.Healthy || s.LastError != nil || s.MaxApplyDelay <= 0 {
		t.Errorf("stats: %+v", s)
	}
}

// A Config with an OnNotification of its own (a logger, say) does not
// make the Listener deaf (found in an audit: pgx hands notifications to
// the callback instead of queueing them, and the Listener heard nothing
// while it reported healthy). The callback is still called.
func TestListenerWithConfigOnNotification(t *testing.T) {
	var called atomic.Int64
	f := newPGFixture(t, testenv.PostgresDB(t), pgFixtureOptions{
		onNotification: func(*pgconn.PgConn, *pgconn.Notification) { called.Add(1) },
	})
	f.start(t)
	f.notifiedWrite(t, 1)
	if called.Load() == 0 {
		t.Error("the Config's OnNotification was never called")
	}
}

// TestListenerLatency measures, over 1,000 writes, the time from a write's
// commit to its invalidation landing in the store, while a reader reads
// through the cache and must never see a value older than the last write
// whose invalidation had landed when its read began.
//
// psql (a separate process, one session) makes the writes, each its own
// transaction, pausing 1ms between them; each write records
// clock_timestamp() in an unwatched table as its last step before the
// commit, so the measured latency is an upper bound that includes the
// commit itself. The invalidation's time is when Tags.Invalidate returned
// for the bump covering the write (ListenerApplied.At), read from the same
// wall clock on the same machine. Notifications arrive in commit order and
// there is one writer, so the k-th notification is the k-th write.
func TestListenerLatency(t *testing.T) {
	const writes = 1000
	f := newPGFixture(t, testenv.PostgresDB(t), pgFixtureOptions{})
	f.exec(t, "CREATE TABLE write_log (i int PRIMARY KEY, at timestamptz NOT NULL)")
	f.start(t)
	f.wantCached(t, 0)

	type read struct {
		began time.Time
		v     int
	}
	var reads []read
	stop := make(chan struct{})
	readerDone := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				readerDone <- nil
				return
			default:
			}
			began := time.Now()
			var v int
			if err := f.db.QueryRowContext(context.Background(), "SELECT v FROM items WHERE id = 1").Scan(&v); err != nil {
				readerDone <- err
				return
			}
			reads = append(reads, read{began, v})
			time.Sleep(200 * time.Microsecond)
		}
	}()

	var script strings.Builder
	script.WriteString("\\o /dev/null\n")
	for i := 1; i <= writes; i++ {
		fmt.Fprintf(&script, "WITH u AS (UPDATE items SET v = %d WHERE id = 1 RETURNING 1) INSERT INTO write_log SELECT %d, clock_timestamp() FROM u;\nSELECT pg_sleep(0.001);\n", i, i)
	}
	began := time.Now()
	testenv.Psql(t, f.dsn, script.String())
	elapsed := time.Since(began)
	waitUntil(t, 10*time.Second, "every notification applied", func() bool {
		s := f.l.Stats()
		return s.Applied+s.Deferred == writes && s.Backlog == 0
	})
	close(stop)
	if err := <-readerDone; err != nil {
		t.Fatal(err)
	}

	rows, err := f.sql.QueryContext(t.Context(), "SELECT at FROM write_log ORDER BY i")
	if err != nil {
		t.Fatal(err)
	}
	var committed []time.Time
	for rows.Next() {
		var at time.Time
		if err := rows.Scan(&at); err != nil {
			t.Fatal(err)
		}
		committed = append(committed, at)
	}
	if err := rows.Err(); err != nil || len(committed) != writes {
		t.Fatalf("write log: %d rows, %v", len(committed), err)
	}

	// applied[k] is when the k-th write's invalidation landed; for the
	// first write of each bump, delivered is the share of the server and
	// of reading the connection (commit to receipt).
	var applied []time.Time
	var delivered []time.Duration
	for _, e := range f.rec.of(invalidation.ListenerApplied) {
		if e.Err != nil {
			t.Fatalf("bump deferred: %v", e.Err)
		}
		if k := len(applied); k < writes {
			delivered = append(delivered, e.Received.Sub(committed[k]))
		}
		for range e.Notifications {
			applied = append(applied, e.At)
		}
	}
	if len(applied) != writes {
		t.Fatalf("%d notifications applied, want %d", len(applied), writes)
	}
	lat := make([]time.Duration, writes)
	for k := range writes {
		lat[k] = applied[k].Sub(committed[k])
		if lat[k] < 0 {
			t.Fatalf("write %d invalidated %v before it committed: clocks disagree?", k+1, -lat[k])
		}
	}

	// No read that began after write k's invalidation landed saw an older
	// value.
	hits := f.db.Region().Stats().Hits
	k := 0 // writes whose invalidation landed before the read began
	for _, r := range reads {
		for k < writes && applied[k].Before(r.began) {
			k++
		}
		if r.v < k {
			t.Fatalf("stale read: began %v after write %d's invalidation, saw %d", r.began.Sub(applied[k-1]), k, r.v)
		}
	}
	f.wantCached(t, writes)

	p := func(d []time.Duration, q float64) time.Duration {
		slices.Sort(d)
		return d[int(math.Ceil(q*float64(len(d))))-1]
	}
	s := f.l.Stats()
	load, _ := os.ReadFile("/proc/loadavg")
	t.Logf("commit → invalidation over %d writes: p50 %v, p90 %v, p99 %v, max %v (target p99 < 50ms)",
		writes, p(lat, 0.50), p(lat, 0.90), p(lat, 0.99), p(lat, 1))
	t.Logf("of which commit → receipt, over the %d bumps: p50 %v, p99 %v; receipt → bump landed: max %v",
		s.Batches, p(delivered, 0.50), p(delivered, 0.99), s.MaxApplyDelay)
	t.Logf("psql took %v; %d reads through the cache during the writes, %d hits, none stale; load average %s",
		elapsed, len(reads), hits, strings.TrimSpace(string(load)))
	// The target is 50ms; the test fails only well past it, so that a
	// loaded machine running every package at once does not fail it.
	if p99 := p(lat, 0.99); p99 > 500*time.Millisecond {
		t.Errorf("p99 %v", p99)
	}
}

// TestListenerFaults runs a listener against a private server and breaks
// its connection: pg_terminate_backend, a server restart, and a server
// that stops answering. After each, the listener reconnects by itself and
// no stale value is served, including for writes made while it was deaf.
func TestListenerFaults(t *testing.T) {
	pg := testenv.NewPostgres(t, testenv.PostgresOptions{})
	var gate atomic.Bool // closed: connection attempts fail
	errGate := errors.New("gate closed")
	f := newPGFixture(t, pg.DSN(), pgFixtureOptions{
		backoff:     invalidation.Backoff{Min: 10 * time.Millisecond, Max: 100 * time.Millisecond},
		pingEvery:   100 * time.Millisecond,
		connTimeout: 500 * time.Millisecond,
		beforeConnect: func(context.Context) error {
			if gate.Load() {
				return errGate
			}
			return nil
		},
	})
	f.start(t)

	// deafWrite writes while the listener is down and held there, so that
	// only the invalidation of everything on reconnection can save the
	// entry cached before: it checks that this process bypasses the cache
	// meanwhile, that nothing stale is served once the listener is back,
	// and that health went down and up.
	deafWrite := func(t *testing.T, breakIt, repair func(), value int) {
		t.Helper()
		f.wantCached(t, value-1) // cached, with the versions of now
		healthyBefore := len(f.rec.of(invalidation.ListenerHealthy))
		versionBefore := f.version(t, "lt:*")
		gate.Store(true)
		breakIt()
		waitUntil(t, 10*time.Second, "the listener to go down", func() bool { return !f.l.Healthy() })
		if got := f.db.Tags().Held(); !slices.Equal(got, []string{"lt:*"}) {
			t.Errorf("held while down: %q", got)
		}
		repair()
		testenv.Psql(t, f.dsn, fmt.Sprintf("UPDATE items SET v = %d WHERE id = 1", value))
		hits := f.db.Region().Stats().Hits
		if got := f.readRetry(t); got != value {
			t.Errorf("read %d while the listener is down, want %d: the cache was not bypassed", got, value)
		}
		if f.db.Region().Stats().Hits != hits {
			t.Error("a hit while the listener is down")
		}
		if f.l.Healthy() {
			t.Fatal("healthy behind a closed gate")
		}
		gate.Store(false)
		wctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		if err := f.l.WaitHealthy(wctx); err != nil {
			t.Fatal(err)
		}
		if f.version(t, "lt:*") == versionBefore {
			t.Error("everything was not invalidated on reconnection")
		}
		if got := f.db.Tags().Held(); len(got) != 0 {
			t.Errorf("held once healthy: %q", got)
		}
		f.wantCached(t, value)
		// Health went false, then true; the listener reconnected by itself
		// (the gate only failed its attempts).
		waitUntil(t, 5*time.Second, "the healthy event", func() bool { return len(f.rec.of(invalidation.ListenerHealthy)) >= healthyBefore+1 })
		if n := len(f.rec.of(invalidation.ListenerHealthy)); n != healthyBefore+1 {
			t.Errorf("%d healthy events, want %d", n, healthyBefore+1)
		}
		if e := f.rec.last(invalidation.ListenerListening); !e.Reconnect {
			t.Errorf("last connection not a reconnection: %+v", e)
		}
	}

	t.Run("terminate", func(t *testing.T) {
		deafWrite(t, func() {
			testenv.Psql(t, pg.DSN(), fmt.Sprintf("SELECT pg_terminate_backend(%d)", f.l.Stats().PID))
		}, func() {}, 1)
		// Again, without holding it down: it comes straight back.
		reconnects := f.l.Stats().Reconnects
		testenv.Psql(t, pg.DSN(), fmt.Sprintf("SELECT pg_terminate_backend(%d)", f.l.Stats().PID))
		waitUntil(t, 10*time.Second, "a reconnection", func() bool { return f.l.Stats().Reconnects > reconnects && f.l.Healthy() })
		f.notifiedWrite(t, 2)
	})

	t.Run("restart", func(t *testing.T) {
		deafWrite(t, func() { pg.Stop(t) }, func() { pg.Start(t) }, 3)
		f.notifiedWrite(t, 4)
	})

	t.Run("unresponsive", func(t *testing.T) {
		// The listener's server process frozen: its connection stays
		// open and silent, as across a network partition, and only the
		// ping finds it dead. (testenv's Pause freezes the postmaster,
		// not the backends it forked.)
		pid := int(f.l.Stats().PID)
		var froze time.Time
		deafWrite(t, func() {
			if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
				t.Skipf("cannot freeze the listener's backend %d: %v", pid, err)
			}
			froze = time.Now()
			t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
		}, func() {
			t.Logf("a silent connection found dead after %v (PingEvery 100ms, ConnectTimeout 500ms)", time.Since(froze))
		}, 5)
		_ = syscall.Kill(pid, syscall.SIGCONT)
		f.notifiedWrite(t, 6)
	})

	s := f.l.Stats()
	t.Logf("stats after the faults: %+v", s)
	if s.Reconnects < 4 || s.Resets != s.Connects || !s.Healthy || !errors.Is(s.LastError, invalidation.ErrListenerDown) {
		t.Errorf("stats: %+v", s)
	}
}

// TestListenerStoreAway: bumps the store refuses or sits on are left to
// Tags' retry; the listener keeps reading notifications, stays healthy,
// and this process bypasses the tags until the bumps land.
func TestListenerStoreAway(t *testing.T) {
	store := &awayStore{}
	f := newPGFixture(t, testenv.PostgresDB(t), pgFixtureOptions{store: store, bumpTimeout: 50 * time.Millisecond})
	f.start(t)
	f.wantCached(t, 0)
	const tag = "lt:t:public.items"
	before := f.version(t, tag)

	for _, mode := range []int32{storeRefuses, storeHangs} {
		store.mode.Store(mode)
		deferred := f.l.Stats().Deferred
		began := time.Now()
		for i := range 3 {
			testenv.Psql(t, f.dsn, fmt.Sprintf("UPDATE items SET v = v + 1 WHERE id = 1 -- %d", i))
		}
		waitUntil(t, 10*time.Second, "the bumps to be deferred", func() bool {
			s := f.l.Stats()
			return s.Deferred == deferred+3 && s.Backlog == 0
		})
		if d := time.Since(began); d > 5*time.Second {
			t.Errorf("store mode %d: three writes took %v to hand over", mode, d)
		}
		if !f.l.Healthy() {
			t.Error("unhealthy while the store is away")
		}
		if got := f.db.Tags().Held(); !slices.Contains(got, tag) {
			t.Errorf("store mode %d: held %q; want %s while its bump is owed", mode, got, tag)
		}
		for _, e := range f.rec.of(invalidation.ListenerApplied) {
			if e.Err != nil && !errors.Is(e.Err, invalidation.ErrDeferred) {
				t.Errorf("applied with %v", e.Err)
			}
		}
		store.mode.Store(storeUp)
		waitUntil(t, 10*time.Second, "the owed bump to land", func() bool { return len(f.db.Tags().Held()) == 0 })
	}
	if f.version(t, tag) == before {
		t.Error("the owed bumps never landed")
	}
	f.wantCached(t, 6)
}

// TestListenerStartClose covers Start, Close and Healthy's round trip with
// a server, on a channel of the test's choosing.
func TestListenerStartClose(t *testing.T) {
	dsn := testenv.PostgresDB(t)
	tags := listenerTags(t, nil)
	cfg := mustParse(t, dsn)
	l, err := invalidation.NewListener(invalidation.ListenerOptions{Config: cfg, Tags: tags, Channel: "Mixed Case", TagsOf: invalidation.CachedSQLTags("ns")})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := l.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	if got := testenv.Psql(t, dsn, "SELECT application_name FROM pg_stat_activity WHERE pid = "+fmt.Sprint(l.Stats().PID)); got != "dogpile-listener" {
		t.Errorf("application_name %q", got)
	}
	testenv.Psql(t, dsn, `SELECT pg_notify('Mixed Case', 'public.t')`)
	waitUntil(t, 5*time.Second, "the notification", func() bool { return l.Stats().Applied == 1 })
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if l.Healthy() || len(tags.Held()) != 0 {
		t.Errorf("after Close: healthy %v, held %q", l.Healthy(), tags.Held())
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// ---- fixtures ----

// pgFixture is a database with a watched table items (id 1, v 0) and an
// unwatched-by-mapping table others, a cachedsql.DB on it in namespace lt,
// and a listener driving the DB's tags.
type pgFixture struct {
	dsn string
	sql *sql.DB
	db  *cachedsql.DB
	l   *invalidation.Listener
	rec *eventRecorder
}

type pgFixtureOptions struct {
	store         backend.Proxy // between the DB's tags and the memory store
	backoff       invalidation.Backoff
	pingEvery     time.Duration
	connTimeout   time.Duration
	bumpTimeout   time.Duration
	beforeConnect func(context.Context) error
	// onNotification, when set, goes in a Config the listener is made
	// with (instead of the connection string).
	onNotification func(*pgconn.PgConn, *pgconn.Notification)
}

func newPGFixture(t *testing.T, dsn string, o pgFixtureOptions) *pgFixture {
	t.Helper()
	f := &pgFixture{dsn: dsn, rec: &eventRecorder{}}
	var err error
	if f.sql, err = sql.Open("pgx", dsn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.sql.Close() })
	if _, err := migrations.Up(t.Context(), f.sql); err != nil {
		t.Fatal(err)
	}
	f.exec(t, "CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL)", "INSERT INTO items VALUES (1, 0)", "CREATE TABLE others (id int)")
	if err := migrations.Watch(t.Context(), f.sql, "items", "others"); err != nil {
		t.Fatal(err)
	}
	store, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	var b backend.Backend = store
	if o.store != nil {
		if b, err = backend.Wrap(store, o.store); err != nil {
			t.Fatal(err)
		}
	}
	if f.db, err = cachedsql.Open("pgx", dsn, cachedsql.WithBackend(b), cachedsql.WithNamespace("lt")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.db.Close() })
	// Only items reaches lt's tags: others stands for a table some other
	// namespace caches.
	tagsOf := func(c invalidation.Change) []string {
		if !c.All && c.Table != "items" {
			return nil
		}
		return invalidation.CachedSQLTags("lt")(c)
	}
	lo := invalidation.ListenerOptions{
		ConnString:     dsn,
		Tags:           f.db.Tags(),
		TagsOf:         tagsOf,
		Backoff:        o.backoff,
		PingEvery:      o.pingEvery,
		ConnectTimeout: o.connTimeout,
		BumpTimeout:    o.bumpTimeout,
		OnEvent:        f.rec.record,
	}
	if o.onNotification != nil {
		lo.ConnString, lo.Config = "", mustParse(t, dsn)
		lo.Config.OnNotification = o.onNotification
	}
	if f.l, err = invalidation.NewListener(lo); err != nil {
		t.Fatal(err)
	}
	if o.beforeConnect != nil {
		invalidation.SetBeforeConnect(f.l, o.beforeConnect)
	}
	return f
}

func (f *pgFixture) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- f.l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	wctx, wcancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer wcancel()
	if err := f.l.WaitHealthy(wctx); err != nil {
		t.Fatal(err)
	}
}

func (f *pgFixture) exec(t *testing.T, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := f.sql.ExecContext(t.Context(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// read reads items' value through the cache.
func (f *pgFixture) read(t *testing.T) (int, error) {
	t.Helper()
	var v int
	err := f.db.QueryRowContext(t.Context(), "SELECT v FROM items WHERE id = 1").Scan(&v)
	return v, err
}

// readRetry reads, retrying errors for a while: after a restart, the DB's
// pooled connections are dead.
func (f *pgFixture) readRetry(t *testing.T) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := f.read(t)
		if err == nil {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// wantCached checks that items reads want, and that a second read is a
// hit.
func (f *pgFixture) wantCached(t *testing.T, want int) {
	t.Helper()
	if v := f.readRetry(t); v != want {
		t.Fatalf("read %d, want %d", v, want)
	}
	hits := f.db.Region().Stats().Hits
	if v := f.readRetry(t); v != want {
		t.Fatalf("read %d, want %d", v, want)
	}
	if f.db.Region().Stats().Hits != hits+1 {
		t.Fatalf("the second read of %d was not a hit", want)
	}
}

// notifiedWrite writes v with psql while the listener is healthy, and
// waits until a read through the cache gives it, which must be the
// notification's doing.
func (f *pgFixture) notifiedWrite(t *testing.T, v int) {
	t.Helper()
	f.wantCached(t, v-1)
	n := f.l.Stats().Notifications
	testenv.Psql(t, f.dsn, fmt.Sprintf("UPDATE items SET v = %d WHERE id = 1", v))
	f.waitRead(t, v)
	if s := f.l.Stats(); s.Notifications <= n {
		t.Errorf("read %d without its notification: %+v", v, s)
	}
}

// waitRead waits until a read through the cache gives want.
func (f *pgFixture) waitRead(t *testing.T, want int) {
	t.Helper()
	var last int
	waitUntil(t, 5*time.Second, fmt.Sprintf("a read of %d", want), func() bool {
		last = f.readRetry(t)
		return last == want
	})
}

func (f *pgFixture) version(t *testing.T, tag string) uint64 {
	t.Helper()
	states, err := f.db.Tags().TagStates(t.Context(), []string{tag})
	if err != nil {
		t.Fatal(err)
	}
	return states[0].Version
}

// eventRecorder keeps a listener's events.
type eventRecorder struct {
	mu     sync.Mutex
	events []invalidation.ListenerEvent // guarded by mu
}

func (r *eventRecorder) record(e invalidation.ListenerEvent) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *eventRecorder) of(kind invalidation.ListenerEventKind) []invalidation.ListenerEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []invalidation.ListenerEvent
	for _, e := range r.events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func (r *eventRecorder) kinds() []invalidation.ListenerEventKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []invalidation.ListenerEventKind
	for _, e := range r.events {
		out = append(out, e.Kind)
	}
	return out
}

func (r *eventRecorder) last(kind invalidation.ListenerEventKind) invalidation.ListenerEvent {
	es := r.of(kind)
	if len(es) == 0 {
		return invalidation.ListenerEvent{}
	}
	return es[len(es)-1]
}

const (
	storeUp int32 = iota
	storeRefuses
	storeHangs
)

var errStoreAway = errors.New("store away")

// awayStore is a proxy whose bumps fail, or hang until their context
// ends, as its mode says.
type awayStore struct {
	backend.ProxyBackend
	mode atomic.Int32
}

func (s *awayStore) BumpTags(ctx context.Context, tags []string) error {
	switch s.mode.Load() {
	case storeRefuses:
		return errStoreAway
	}
	for s.mode.Load() == storeHangs {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return s.ProxyBackend.BumpTags(ctx, tags)
}

func listenerTags(t *testing.T, p backend.Proxy) *invalidation.Tags {
	t.Helper()
	store, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	var b backend.Backend = store
	if p != nil {
		if b, err = backend.Wrap(store, p); err != nil {
			t.Fatal(err)
		}
	}
	tags, err := invalidation.NewTags(b, invalidation.Options{RetryMin: time.Millisecond, RetryMax: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tags.Close(context.Background()) })
	return tags
}

func mustParse(t *testing.T, dsn string) *pgx.ConnConfig {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// waitUntil polls cond until it holds, failing t after limit, and returns
// how long it took.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("waited %v for %s", limit, what)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

// ExampleListener shows a listener keeping a cachedsql.DB's cache in step
// with writes made by anyone.
func ExampleListener() {
	ctx := context.Background()
	dsn := "postgres://app@db.internal/app"
	db, err := cachedsql.Open("pgx", dsn, cachedsql.WithNamespace("app"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	l, err := invalidation.NewListener(invalidation.ListenerOptions{
		ConnString: dsn,
		Tags:       db.Tags(),
		TagsOf:     invalidation.CachedSQLTags("app"),
		OnEvent: func(e invalidation.ListenerEvent) {
			if e.Kind == invalidation.ListenerDown {
				log.Printf("cache listener down, retrying in %v: %v", e.Delay, e.Err)
			}
		},
	})
	if err != nil {
		panic(err)
	}
	if err := l.Start(); err != nil {
		panic(err)
	}
	defer l.Close()
	_ = l.WaitHealthy(ctx) // until then, db reads bypass the cache
}
