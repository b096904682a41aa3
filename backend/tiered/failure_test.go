package tiered_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/redis"
	"github.com/dogpile-go/dogpile/backend/tiered"
	"github.com/dogpile-go/dogpile/internal/testenv"
	"github.com/dogpile-go/dogpile/region"
)

// breakable makes a tiered store on a Redis of the test's own, with short
// timeouts so that a dead server shows quickly.
func breakable(t *testing.T) (*testenv.Redis, *tiered.Store) {
	t.Helper()
	srv := testenv.NewRedis(t, testenv.RedisOptions{})
	ro := redis.Options{Universal: &goredis.UniversalOptions{
		Addrs:       []string{srv.Addr()},
		DialTimeout: 200 * time.Millisecond, ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond,
		MaxRetries: -1, DialerRetries: 1, DialerRetryTimeout: 10 * time.Millisecond,
	}}
	s := open(t, tiered.Options{Redis: &ro, PingEvery: 100 * time.Millisecond, RetryMax: 100 * time.Millisecond})
	return srv, s
}

// Redis is stopped: the store drops its near tier and bypasses it (a read
// is an error, which the region turns into a miss, never a near hit), and
// after Redis is started again it subscribes again and caches again.
func TestRedisStoppedAndStarted(t *testing.T) {
	srv, s := breakable(t)
	r := region.New("stopped").MustConfigure(region.Config{Backend: s, Expiration: time.Hour})
	var creations atomic.Int64
	create := func(context.Context) (string, error) { creations.Add(1); return "v", nil }
	get := func() {
		t.Helper()
		if v, err := region.GetOrCreate(ctxBg, r, "k", create); err != nil || v != "v" {
			t.Fatalf("GetOrCreate = %q, %v; no call may fail", v, err)
		}
	}
	get()
	get()
	if creations.Load() != 1 || s.Stats().NearHits == 0 {
		t.Fatalf("before the stop: %d creations, stats %+v; want 1 and a near hit", creations.Load(), s.Stats())
	}

	start := time.Now()
	srv.Stop(t)
	t.Logf("Stop took %v", time.Since(start))
	took := eventually(t, 5*time.Second, "the store notices the stop", func() bool { return !s.Healthy() })
	t.Logf("lost subscription noticed after %v", took)
	if s.Len() != 0 {
		t.Fatalf("near tier holds %d entries after the subscription was lost", s.Len())
	}
	hits, errs := s.Stats().NearHits, r.Stats().BackendErrors
	if _, _, err := s.Get(ctxBg, "k"); err == nil {
		t.Fatal("Get while Redis is down: no error (served from the near tier?)")
	}
	get()
	get()
	if creations.Load() != 3 {
		t.Fatalf("while Redis is down: %d creations in all, want 3 (each call creates)", creations.Load())
	}
	if s.Stats().NearHits != hits || r.Stats().BackendErrors == errs {
		t.Fatalf("while Redis is down: near hits %d → %d, backend errors %d → %d", hits, s.Stats().NearHits, errs, r.Stats().BackendErrors)
	}
	if s.Stats().Bypassed == 0 {
		t.Error("no read was counted as bypassing the near tier")
	}

	t.Logf("reads while down took %v", time.Since(start))
	start = time.Now()
	srv.Start(t)
	t.Logf("Start took %v", time.Since(start))
	took = eventually(t, 10*time.Second, "the store subscribes again", s.Healthy)
	t.Logf("subscribed again %v after the start", took)
	if st := s.Stats(); st.Subscriptions < 2 || st.Resets < 1 {
		t.Fatalf("stats after recovery %+v: want a second subscription and a reset", st)
	}
	get() // Redis came back empty
	get()
	hits = s.Stats().NearHits
	get()
	if creations.Load() != 4 || s.Stats().NearHits != hits+1 {
		t.Fatalf("after recovery: %d creations (want 4), near hits %d → %d", creations.Load(), hits, s.Stats().NearHits)
	}
}

// A hung Redis (SIGSTOP) answers nothing, not even an error: the unanswered
// ping on the subscription gives it away.
func TestRedisPaused(t *testing.T) {
	srv, s := breakable(t)
	if err := s.Set(ctxBg, "k", entry("v")); err != nil {
		t.Fatal(err)
	}
	srv.Pause(t)
	took := eventually(t, 5*time.Second, "the store notices the hang", func() bool { return !s.Healthy() })
	t.Logf("hang noticed after %v (PingEvery 100ms)", took)
	// The flag goes down first, so that no read uses the near tier, then
	// the tier is emptied.
	eventually(t, time.Second, "the near tier is emptied", func() bool { return !tiered.NearHas(s, "k") })
	srv.Resume(t)
	eventually(t, 10*time.Second, "the store subscribes again", s.Healthy)
	if p, ok := payloadOf(t, s, "k"); p != "v" || !ok {
		t.Fatalf("after resume: %q, %v", p, ok)
	}
}

// failAfter is a go-redis hook that, while armed, lets each command whose
// name it lists reach Redis and then reports it failed, as a timeout after
// the server applied a write does.
type failAfter struct {
	armed atomic.Bool
	names map[string]bool
}

var errFailAfter = errors.New("injected: applied, then failed")

func (f *failAfter) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (f *failAfter) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if err := next(ctx, cmd); err != nil || !f.armed.Load() || !f.names[cmd.Name()] {
			return err
		}
		cmd.SetErr(errFailAfter)
		return errFailAfter
	}
}

func (f *failAfter) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		if err := next(ctx, cmds); err != nil || !f.armed.Load() {
			return err
		}
		var err error
		for _, c := range cmds {
			if f.names[c.Name()] {
				c.SetErr(errFailAfter)
				err = errFailAfter
			}
		}
		return err
	}
}

// A write that Redis applied but reported failed (a timeout after the
// server acted, say) is still announced: another process's near copy of
// the key, or its cached state of the tag, is dropped, and the writer's
// caller still gets the error.
func TestFailedWriteIsStillPublished(t *testing.T) {
	tests := []struct {
		name  string
		write func(s *tiered.Store) error
		check func(t *testing.T, b *tiered.Store, tag0 uint64) bool // b sees the write
	}{
		{"Set", func(s *tiered.Store) error { return s.Set(ctxBg, "k", entry("two")) },
			func(t *testing.T, b *tiered.Store, _ uint64) bool { p, _ := payloadOf(t, b, "k"); return p == "two" }},
		{"SetMulti", func(s *tiered.Store) error {
			return s.SetMulti(ctxBg, []backend.KeyedEntry{{Key: "k", Entry: entry("two")}, {Key: "k2", Entry: entry("two")}}, 0)
		}, func(t *testing.T, b *tiered.Store, _ uint64) bool { p, _ := payloadOf(t, b, "k"); return p == "two" }},
		{"Delete", func(s *tiered.Store) error { return s.Delete(ctxBg, "k") },
			func(t *testing.T, b *tiered.Store, _ uint64) bool { _, ok := payloadOf(t, b, "k"); return !ok }},
		{"DeleteMulti", func(s *tiered.Store) error { return s.DeleteMulti(ctxBg, []string{"k", "k2"}) },
			func(t *testing.T, b *tiered.Store, _ uint64) bool { _, ok := payloadOf(t, b, "k"); return !ok }},
		{"BumpTags", func(s *tiered.Store) error { return s.BumpTags(ctxBg, []string{"t"}) },
			func(t *testing.T, b *tiered.Store, tag0 uint64) bool {
				st, err := b.TagStates(ctxBg, []string{"t"})
				if err != nil {
					t.Fatal(err)
				}
				return st[0].Version != tag0
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := testenv.SharedRedis(t)
			prefix := uniquePrefix(t)
			hook := &failAfter{names: map[string]bool{"set": true, "del": true, "evalsha": true, "eval": true}}
			client := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
			t.Cleanup(func() { client.Close() })
			client.AddHook(hook)
			// MaxTagAge is long so that only a message can drop b's
			// cached tag state within the test.
			o := tiered.Options{Coherence: tiered.Bounded, MaxTagAge: time.Hour}
			oa, ob := o, o
			oa.Redis = &redis.Options{Client: client, KeyPrefix: prefix}
			ob.Redis = &redis.Options{URL: srv.URL(), KeyPrefix: prefix}
			a, b := open(t, oa), open(t, ob)

			for _, k := range []string{"k", "k2"} {
				if err := a.Set(ctxBg, k, entry("one")); err != nil {
					t.Fatal(err)
				}
			}
			settle(t, a, b)
			if p, _ := payloadOf(t, b, "k"); p != "one" || !tiered.NearHas(b, "k") {
				t.Fatalf("b reads %q (near: %v); want \"one\", kept near", p, tiered.NearHas(b, "k"))
			}
			st, err := b.TagStates(ctxBg, []string{"t"}) // now cached in b
			if err != nil {
				t.Fatal(err)
			}

			hook.armed.Store(true)
			if err := tc.write(a); !errors.Is(err, errFailAfter) {
				t.Fatalf("write = %v; want the injected failure", err)
			}
			hook.armed.Store(false)
			eventually(t, deliveryBound, "b sees the write Redis applied", func() bool { return tc.check(t, b, st[0].Version) })
		})
	}
}
