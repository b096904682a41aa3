package tiered_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

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
