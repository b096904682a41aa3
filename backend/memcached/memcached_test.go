package memcached_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/backendtest"
	"github.com/dogpile-go/dogpile/backend/memcached"
	"github.com/dogpile-go/dogpile/clock"
	"github.com/dogpile-go/dogpile/internal/testenv"
	"github.com/dogpile-go/dogpile/serializer"
)

var ctxBg = context.Background()

func TestConformance(t *testing.T) {
	// The suite stores a 1 MiB value, which with its record header is over
	// memcached's default item size limit (-I 1m): give the server room.
	srv := testenv.NewMemcached(t, testenv.MemcachedOptions{Args: []string{"-I", "2m"}})
	tests := []struct {
		name string
		opts memcached.Options
	}{
		{"default", memcached.Options{}},
		{"key prefix", memcached.Options{KeyPrefix: "app/"}},
		{"no lock", memcached.Options{DisableLock: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var clk *clock.Manual // the leases' clock of the test's stores
			backendtest.Run(t, backendtest.Harness{
				New: func(t *testing.T) backend.Backend {
					o := tc.opts
					clk = clock.NewManual(time.Now())
					o.Clock = clk
					return newStore(t, srv.Addr(), o)
				},
				AdvanceClock: func(t *testing.T, d time.Duration) { clk.Advance(d) },
				ForgetTag: func(t *testing.T, b backend.Backend, tag string) {
					if err := b.(*memcached.Store).ForgetTag(tag); err != nil {
						t.Fatalf("deleting the version item of %q: %v", tag, err)
					}
				},
				CheckTTL: func(t *testing.T, b backend.Backend, key string, ttl time.Duration) {
					got, ok := serverTTL(t, srv.Addr(), b.(*memcached.Store).ServerKey(key))
					if !ok || got <= 0 || got > ttl {
						t.Errorf("server TTL of %q = %v (present %v), want within (0, %v]", key, got, ok, ttl)
					}
				},
				SecondHandle: func(t *testing.T, b backend.Backend) backend.Backend {
					o := tc.opts
					o.Servers = []string{srv.Addr()}
					o.KeyPrefix = strings.TrimSuffix(b.(*memcached.Store).ServerKey("x"), "x")
					o.Clock = clk
					return openStore(t, o)
				},
			})
		})
	}
}

func TestExpiry(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	const month = 30 * 24 * time.Hour
	tests := []struct {
		name string
		ttl  time.Duration
		want int32
	}{
		{"none", 0, 0},
		{"negative", -time.Second, 0},
		{"a nanosecond rounds up", time.Nanosecond, 1},
		{"one second", time.Second, 1},
		{"a second and a half rounds up", 1500 * time.Millisecond, 2},
		{"an hour", time.Hour, 3600},
		{"30 days is still relative", month, 2592000},
		{"just under 30 days", month - time.Millisecond, 2592000},
		{"past 30 days is a Unix time", month + time.Second, int32(now.Unix()) + 2592001},
		{"past 30 days, rounded up", month + time.Millisecond, int32(now.Unix()) + 2592001},
		{"a year", 365 * 24 * time.Hour, int32(now.Add(365 * 24 * time.Hour).Unix())},
		{"past 2038 is clamped", 100 * 365 * 24 * time.Hour, math.MaxInt32},
		{"overflow is clamped", time.Duration(math.MaxInt64), math.MaxInt32},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := memcached.Expiry(tc.ttl, now); got != tc.want {
				t.Errorf("Expiry(%v) = %d, want %d", tc.ttl, got, tc.want)
			}
		})
	}
}

// The server, asked for each entry's TTL, agrees with what was asked,
// including past 30 days, where the store sends a Unix time.
func TestTTLOnServer(t *testing.T) {
	srv := testenv.SharedMemcached(t)
	e := backend.Entry{Data: []byte("v"), Meta: backend.Metadata{Created: time.Now(), Version: 1}}
	tests := []struct {
		name       string
		expiration time.Duration // Options.Expiration
		ttl        time.Duration // given to SetWithTTL; 0: Set
		want       time.Duration // -1s: never expires
	}{
		{"no TTL", 0, 0, -time.Second},
		{"default expiration", time.Hour, 0, time.Hour},
		{"TTL over the default", time.Hour, 90 * time.Second, 90 * time.Second},
		{"fraction rounds up", 0, 2500 * time.Millisecond, 3 * time.Second},
		{"30 days", 0, 30 * 24 * time.Hour, 30 * 24 * time.Hour},
		{"40 days", 0, 40 * 24 * time.Hour, 40 * 24 * time.Hour},
		{"default of 40 days", 40 * 24 * time.Hour, 0, 40 * 24 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t, srv.Addr(), memcached.Options{Expiration: tc.expiration})
			var err error
			if tc.ttl == 0 {
				err = s.Set(ctxBg, "k", e)
			} else {
				err = s.SetWithTTL(ctxBg, "k", e, tc.ttl)
			}
			if err != nil {
				t.Fatal(err)
			}
			checkTTL(t, srv.Addr(), s.ServerKey("k"), tc.want)
			if err := s.SetMulti(ctxBg, []backend.KeyedEntry{{Key: "m", Entry: e}}, tc.ttl); err != nil {
				t.Fatal(err)
			}
			checkTTL(t, srv.Addr(), s.ServerKey("m"), tc.want)
		})
	}
}

// checkTTL fails t unless the server keeps key for want, less the two
// seconds a test and memcached's one-second clock may take. Past 30 days,
// where the end is a Unix time rounded up and the server counts from its
// clock, which lags the wall by up to a second, up to two seconds more.
func checkTTL(t *testing.T, addr, key string, want time.Duration) {
	t.Helper()
	got, ok := serverTTL(t, addr, key)
	if !ok {
		t.Fatalf("%q missing on the server", key)
	}
	if want < 0 {
		if got != -time.Second {
			t.Errorf("server TTL of %q = %v, want none", key, got)
		}
		return
	}
	hi := want
	if want > 30*24*time.Hour {
		hi += 2 * time.Second
	}
	if got > hi || got < want-2*time.Second {
		t.Errorf("server TTL of %q = %v, want %v", key, got, want)
	}
}

func TestKeys(t *testing.T) {
	srv := testenv.SharedMemcached(t)
	long := strings.Repeat("k", 400)
	t.Run("mangled", func(t *testing.T) {
		prefix := strings.Repeat("p", 150) // long prefixes leave less room for keys
		s := newStore(t, srv.Addr(), memcached.Options{KeyPrefix: prefix})
		m := s.KeyMangler()
		if m == nil {
			t.Fatal("KeyMangler() = nil, want a mangler by default")
		}
		for _, k := range []string{"", "plain", "with space", "tab\tkey", "ключ", long, strings.Repeat("x", 250)} {
			mk := m(k)
			for _, sk := range []string{s.ServerKey(mk), s.LockItemKey(mk)} {
				if len(sk) > 250 || strings.ContainsAny(sk, " \t\r\n") {
					t.Errorf("key %.20q reaches the server as %q (%d bytes)", k, sk, len(sk))
				}
			}
		}
		if got := m("plain"); got != "plain" {
			t.Errorf("mangler changed a plain short key to %q", got)
		}
	})
	t.Run("mangling off", func(t *testing.T) {
		s := newStore(t, srv.Addr(), memcached.Options{DisableKeyMangling: true})
		if s.KeyMangler() != nil {
			t.Fatal("KeyMangler() != nil with DisableKeyMangling")
		}
		e := backend.Entry{Data: []byte("v"), Meta: backend.Metadata{Created: time.Now(), Version: 1}}
		for _, k := range []string{"", "with space", long} {
			err := s.Set(ctxBg, k, e)
			if !errors.Is(err, memcached.ErrBadKey) || !strings.Contains(err.Error(), k) {
				t.Errorf("Set(%.20q) = %v, want ErrBadKey naming the key", k, err)
			}
			if _, _, err := s.Get(ctxBg, k); !errors.Is(err, memcached.ErrBadKey) {
				t.Errorf("Get(%.20q) = %v, want ErrBadKey", k, err)
			}
			if _, err := s.GetMulti(ctxBg, []string{"ok", k}); !errors.Is(err, memcached.ErrBadKey) {
				t.Errorf("GetMulti(%.20q) = %v, want ErrBadKey", k, err)
			}
			// The lock works whatever the key: its item key is hashed.
			m := s.Mutex(k)
			if ok, err := m.TryLock(ctxBg); !ok || err != nil {
				t.Errorf("TryLock(%.20q) = %v, %v; want true, nil", k, ok, err)
			} else if err := m.Unlock(ctxBg); err != nil {
				t.Errorf("Unlock(%.20q): %v", k, err)
			}
		}
		// UTF-8 is taken by the server as it is.
		if err := s.Set(ctxBg, "ключ", e); err != nil {
			t.Errorf("Set of a UTF-8 key: %v", err)
		}
		if _, ok, err := s.Get(ctxBg, "ключ"); !ok || err != nil {
			t.Errorf("Get of a UTF-8 key = %v, %v", ok, err)
		}
	})
}

func TestUndecodableIsMiss(t *testing.T) {
	srv := testenv.SharedMemcached(t)
	s := newStore(t, srv.Addr(), memcached.Options{})
	// Something else wrote the key: not a record.
	conn := dialRaw(t, srv.Addr())
	conn.cmd(t, "set "+s.ServerKey("foreign")+" 0 0 5\r\nhello\r\n", "STORED")
	if _, ok, err := s.Get(ctxBg, "foreign"); ok || err != nil {
		t.Errorf("Get of a value that is not a record = %v, %v; want a miss", ok, err)
	}
	got, err := s.GetMulti(ctxBg, []string{"foreign"})
	if err != nil || !got[0].IsZero() {
		t.Errorf("GetMulti of a value that is not a record = %v, %v; want a miss", got, err)
	}
}

func TestTooLarge(t *testing.T) {
	srv := testenv.SharedMemcached(t) // default item size limit, 1 MiB
	s := newStore(t, srv.Addr(), memcached.Options{})
	e := backend.Entry{Data: make([]byte, 2<<20), Meta: backend.Metadata{Created: time.Now(), Version: 1}}
	err := s.Set(ctxBg, "big", e)
	if !errors.Is(err, memcached.ErrTooLarge) || !strings.Contains(err.Error(), `"big"`) {
		t.Fatalf("Set of 2 MiB = %v, want ErrTooLarge naming the key", err)
	}
	// The connection is still usable afterwards.
	small := backend.Entry{Data: []byte("x"), Meta: e.Meta}
	if err := s.Set(ctxBg, "small", small); err != nil {
		t.Fatalf("Set after a refused one: %v", err)
	}
}

func TestClosed(t *testing.T) {
	srv := testenv.SharedMemcached(t)
	s := newStore(t, srv.Addr(), memcached.Options{})
	m := s.Mutex("k")
	if ok, err := m.TryLock(ctxBg); !ok || err != nil {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	e := backend.Entry{Data: []byte("x"), Meta: backend.Metadata{Created: time.Now(), Version: 1}}
	for name, err := range map[string]error{
		"Get":    func() error { _, _, err := s.Get(ctxBg, "k"); return err }(),
		"Set":    s.Set(ctxBg, "k", e),
		"Delete": s.Delete(ctxBg, "k"),
		"Unlock": m.Unlock(ctxBg),
	} {
		if !errors.Is(err, backend.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
}

func TestSerializer(t *testing.T) {
	srv := testenv.SharedMemcached(t)
	if s := newStore(t, srv.Addr(), memcached.Options{}); s.Serializer() != serializer.Default {
		t.Errorf("Serializer() = %v, want serializer.Default", s.Serializer())
	}
	if s := newStore(t, srv.Addr(), memcached.Options{Serializer: serializer.Gob}); s.Serializer() != serializer.Gob {
		t.Errorf("Serializer() = %v, want the one given", s.Serializer())
	}
}
