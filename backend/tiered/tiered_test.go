package tiered_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/backendtest"
	"github.com/dogpile-go/dogpile/backend/redis"
	"github.com/dogpile-go/dogpile/backend/tiered"
	"github.com/dogpile-go/dogpile/clock"
	"github.com/dogpile-go/dogpile/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var (
	ctxBg    = context.Background()
	prefixes atomic.Int64
)

// uniquePrefix keeps tests that share a server apart.
func uniquePrefix(t *testing.T) string {
	return fmt.Sprintf("tiered%d:%s:", prefixes.Add(1), t.Name())
}

// open makes a tiered store (one "process") and waits for its
// subscription; it is closed when t ends.
func open(t *testing.T, o tiered.Options) *tiered.Store {
	t.Helper()
	s, err := tiered.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(ctxBg, 10*time.Second)
	defer cancel()
	if err := s.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// pair makes two stores on the shared Redis with one key prefix, as two
// processes of one application would have.
func pair(t *testing.T, o tiered.Options) (a, b *tiered.Store) {
	t.Helper()
	ro := redis.Options{URL: testenv.SharedRedis(t).URL(), KeyPrefix: uniquePrefix(t)}
	oa, ob := o, o
	roA, roB := ro, ro
	oa.Redis, ob.Redis = &roA, &roB
	return open(t, oa), open(t, ob)
}

// entry is a tiered (bytes) store's entry holding payload.
func entry(payload string, tags ...backend.TagVersion) backend.Entry {
	return backend.Entry{Data: []byte(payload), Meta: backend.Metadata{Created: time.Now(), Version: 1, Tags: tags}}
}

// eventually polls cond until it holds, failing t after d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

func payloadOf(t *testing.T, s backend.Backend, key string) (string, bool) {
	t.Helper()
	e, ok, err := s.Get(ctxBg, key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return string(e.Data), ok
}

// harness runs the conformance suite on tiered stores over the shared
// Redis; SecondHandle is another tiered store on the same prefix.
func harness(coherence tiered.Coherence) backendtest.Harness {
	var clk *clock.Manual
	mk := func(t *testing.T, prefix string) *tiered.Store {
		ro := redis.Options{URL: testenv.SharedRedis(t).URL(), KeyPrefix: prefix, Clock: clk}
		return open(t, tiered.Options{Redis: &ro, Coherence: coherence})
	}
	h := backendtest.Harness{
		KeepOpen: true, // open closes them
		New: func(t *testing.T) backend.Backend {
			clk = clock.NewManual(time.Now())
			return mk(t, uniquePrefix(t))
		},
		SecondHandle: func(t *testing.T, b backend.Backend) backend.Backend {
			return mk(t, tiered.KeyPrefix(b.(*tiered.Store)))
		},
		AdvanceClock: func(t *testing.T, d time.Duration) { clk.Advance(d) },
		CheckTTL: func(t *testing.T, b backend.Backend, key string, ttl time.Duration) {
			s := b.(*tiered.Store)
			left, err := s.Far().Client().PTTL(ctxBg, tiered.KeyPrefix(s)+key).Result()
			if err != nil || left <= 0 || left > ttl {
				t.Errorf("PTTL(%q) = %v, %v; want within (0, %v]", key, left, err, ttl)
			}
		},
	}
	if coherence == tiered.Strict {
		// In bounded coherence a state the cache holds survives its loss in
		// Redis until MaxTagAge, by design: a loss is not a write, and any
		// bump after it publishes.
		h.ForgetTag = func(t *testing.T, b backend.Backend, tag string) {
			s := b.(*tiered.Store)
			// The Redis store's layout of a tag's version key.
			if err := s.Far().Client().Del(ctxBg, tiered.KeyPrefix(s)+"tag:{"+tag+"}:v").Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	return h
}

func TestConformance(t *testing.T) {
	for _, c := range []tiered.Coherence{tiered.Strict, tiered.Bounded} {
		t.Run(c.String(), func(t *testing.T) { backendtest.Run(t, harness(c)) })
	}
}

func TestOptionsErrors(t *testing.T) {
	ro := &redis.Options{URL: "redis://localhost:1"}
	tests := []struct {
		name string
		o    tiered.Options
	}{
		{"no far store", tiered.Options{}},
		{"two far stores", tiered.Options{Redis: ro, Far: &redis.Store{}}},
		{"negative bytes", tiered.Options{Redis: ro, MaxBytes: -1}},
		{"both bounds", tiered.Options{Redis: ro, MaxBytes: 1, MaxEntries: 1}},
		{"negative tag age", tiered.Options{Redis: ro, MaxTagAge: -time.Second}},
		{"negative ping", tiered.Options{Redis: ro, PingEvery: -time.Second}},
		{"unknown coherence", tiered.Options{Redis: ro, Coherence: 7}},
		{"bad redis options", tiered.Options{Redis: &redis.Options{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tiered.New(tc.o); !errors.Is(err, backend.ErrBadArgument) {
				t.Fatalf("New = %v, want ErrBadArgument", err)
			}
		})
	}
}

func TestRegistry(t *testing.T) {
	url := testenv.SharedRedis(t).URL()
	tests := []struct {
		name      string
		args      backend.Arguments
		wantErr   error
		coherence tiered.Coherence
		channel   string
	}{
		{"defaults", backend.Arguments{"url": url}, nil, tiered.Strict, "dogpile:tiered"},
		{"prefix names the channel", backend.Arguments{"url": url, "key_prefix": "app:"}, nil, tiered.Strict, "app:dogpile:tiered"},
		{"bounded, as strings", backend.Arguments{
			"url": url, "coherence": "bounded", "max_tag_age": "250ms", "near_max_bytes": "1048576",
			"near_ttl": "30s", "ping_every": "2s", "channel": "mine", "distributed_lock": "false",
		}, nil, tiered.Bounded, "mine"},
		{"unknown coherence", backend.Arguments{"url": url, "coherence": "eventual"}, backend.ErrBadArgument, 0, ""},
		{"misspelt far argument", backend.Arguments{"url": url, "key_prefx": "x"}, backend.ErrBadArgument, 0, ""},
		{"bad number", backend.Arguments{"url": url, "near_max_bytes": "lots"}, backend.ErrBadArgument, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := backend.Open("redis_tiered", tc.args)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Open = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer backend.Close(b)
			s := b.(*tiered.Store)
			if s.Coherence() != tc.coherence || s.Channel() != tc.channel {
				t.Errorf("coherence %v, channel %q; want %v, %q", s.Coherence(), s.Channel(), tc.coherence, tc.channel)
			}
			ctx, cancel := context.WithTimeout(ctxBg, 10*time.Second)
			defer cancel()
			if err := s.WaitHealthy(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A store over an existing Redis store leaves it open.
func TestFarStoreLeftOpen(t *testing.T) {
	rdb := goredis.NewClient(&goredis.Options{Addr: testenv.SharedRedis(t).Addr()})
	defer rdb.Close()
	far, err := redis.New(redis.Options{Client: rdb, KeyPrefix: uniquePrefix(t)})
	if err != nil {
		t.Fatal(err)
	}
	s := open(t, tiered.Options{Far: far, Channel: "far-left-open"})
	if err := s.Set(ctxBg, "k", entry("v")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := far.Get(ctxBg, "k"); err != nil || !ok {
		t.Fatalf("far store after the tiered store closed: %v, %v", ok, err)
	}
}

// A store made over Far and one made from Redis options, on one key
// prefix, default to the same channel: each drops the near copies the
// other's writes replace.
func TestFarAndRedisShareTheDefaultChannel(t *testing.T) {
	srv := testenv.SharedRedis(t)
	prefix := uniquePrefix(t)
	far, err := redis.New(redis.Options{URL: srv.URL(), KeyPrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { far.Close() })
	a := open(t, tiered.Options{Far: far})
	b := open(t, tiered.Options{Redis: &redis.Options{URL: srv.URL(), KeyPrefix: prefix}})
	if a.Channel() != b.Channel() || a.Channel() != prefix+"dogpile:tiered" {
		t.Fatalf("channels: over Far %q, from Redis options %q; want both %q", a.Channel(), b.Channel(), prefix+"dogpile:tiered")
	}
	for _, w := range []struct{ from, to *tiered.Store }{{a, b}, {b, a}} {
		if err := w.from.Set(ctxBg, "k", entry("one")); err != nil {
			t.Fatal(err)
		}
		// A read that races a message keeps nothing: read until one
		// keeps the entry near.
		eventually(t, deliveryBound, "the reader keeps the write near", func() bool {
			p, _ := payloadOf(t, w.to, "k")
			return p == "one" && tiered.NearHas(w.to, "k")
		})
		if err := w.from.Set(ctxBg, "k", entry("two")); err != nil {
			t.Fatal(err)
		}
		eventually(t, deliveryBound, "the reader sees the write", func() bool { p, _ := payloadOf(t, w.to, "k"); return p == "two" })
	}
}

// The near tier keeps to its bound, and an entry too large for it is read
// from Redis every time.
func TestNearBounded(t *testing.T) {
	ro := redis.Options{URL: testenv.SharedRedis(t).URL(), KeyPrefix: uniquePrefix(t)}
	s := open(t, tiered.Options{Redis: &ro, MaxBytes: 64 << 10})
	payload := string(make([]byte, 1000))
	for i := range 500 {
		if err := s.Set(ctxBg, fmt.Sprint("k", i), entry(payload)); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Len(); n > 64 {
		t.Fatalf("near tier bounded to 64 KiB holds %d entries of 1 kB", n)
	}
	big := string(make([]byte, 16<<10)) // over an eighth of the bound
	if err := s.Set(ctxBg, "big", entry(big)); err != nil {
		t.Fatal(err)
	}
	if tiered.NearHas(s, "big") {
		t.Fatal("an entry over an eighth of MaxBytes was kept near")
	}
	if p, ok := payloadOf(t, s, "big"); !ok || len(p) != len(big) {
		t.Fatalf("big entry: %d bytes, %v", len(p), ok)
	}
}

// A near copy never outlives the entry in Redis: not one a read filled
// (it takes the TTL Redis has left), nor one a write without a TTL kept
// (it takes the far store's default Expiration). Redis's TTLs run on the
// server's clock, so the test waits for Redis to drop the entries.
func TestNearCopyDoesNotOutliveRedis(t *testing.T) {
	const ttl = 300 * time.Millisecond
	ro := redis.Options{URL: testenv.SharedRedis(t).URL(), KeyPrefix: uniquePrefix(t), Expiration: ttl}
	oa, ob := tiered.Options{}, tiered.Options{}
	roA, roB := ro, ro
	oa.Redis, ob.Redis = &roA, &roB
	a, b := open(t, oa), open(t, ob)
	if err := a.Set(ctxBg, "default", entry("v")); err != nil { // the default Expiration
		t.Fatal(err)
	}
	if err := a.SetWithTTL(ctxBg, "own", entry("v"), ttl); err != nil {
		t.Fatal(err)
	}
	settle(t, a, b)
	for _, k := range []string{"default", "own"} {
		if p, ok := payloadOf(t, b, k); !ok || p != "v" || !tiered.NearHas(b, k) {
			t.Fatalf("b's read of %s = %q, %v (near: %v); want v, kept near", k, p, ok, tiered.NearHas(b, k))
		}
		if !tiered.NearHas(a, k) {
			t.Fatalf("a did not keep its write of %s near", k)
		}
	}
	eventually(t, 10*time.Second, "Redis drops the entries", func() bool {
		_, ok1, _ := a.Far().Get(ctxBg, "default")
		_, ok2, _ := a.Far().Get(ctxBg, "own")
		return !ok1 && !ok2
	})
	// Within a few coarse clock ticks of Redis, never NearTTL (a minute).
	eventually(t, time.Second, "the near copies end with Redis's", func() bool {
		for _, s := range []*tiered.Store{a, b} {
			for _, k := range []string{"default", "own"} {
				if _, ok := payloadOf(t, s, k); ok {
					return false
				}
			}
		}
		return true
	})
}
