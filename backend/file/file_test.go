package file_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/backendtest"
	"github.com/dogpile-go/dogpile/backend/file"
	"github.com/dogpile-go/dogpile/clock"
	"github.com/dogpile-go/dogpile/serializer"
)

var ctxBg = context.Background()

func entry(data string) backend.Entry {
	return backend.Entry{Data: []byte(data), Meta: backend.Metadata{Created: time.Unix(1700000000, 5), Version: 1}}
}

func TestConformance(t *testing.T) {
	tests := []struct {
		name string
		opts file.Options
	}{
		{"default", file.Options{}},
		{"no sync", file.Options{NoSync: true}},
		{"no lock", file.Options{DisableLock: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var clk *clock.Manual // the clock of the test's stores
			backendtest.Run(t, backendtest.Harness{
				New: func(t *testing.T) backend.Backend {
					o := tc.opts
					clk = clock.NewManual(time.Now())
					o.Clock = clk
					return newStore(t, o)
				},
				AdvanceClock: func(t *testing.T, d time.Duration) { clk.Advance(d) },
				ForgetTag: func(t *testing.T, b backend.Backend, tag string) {
					if err := b.(*file.Store).ForgetTag(ctxBg, tag); err != nil {
						t.Fatalf("deleting the version of %q: %v", tag, err)
					}
				},
				CheckTTL: func(t *testing.T, b backend.Backend, key string, ttl time.Duration) {
					exp, ok, err := b.(*file.Store).ExpiresAt(ctxBg, key)
					left := time.Until(exp)
					if err != nil || !ok || left <= 0 || left > ttl {
						t.Errorf("record %q expires in %v (present %v, %v), want within (0, %v]", key, left, ok, err, ttl)
					}
				},
				// Another handle on the same file, as another process has.
				SecondHandle: func(t *testing.T, b backend.Backend) backend.Backend {
					o := tc.opts
					o.Filename = b.(*file.Store).Path()
					o.Clock = clk
					return newStore(t, o)
				},
			})
		})
	}
}

// Expiry is judged by the store's clock against the expiry kept in each
// record: moving the clock, not waiting, ages entries.
func TestTTL(t *testing.T) {
	c := clock.NewManual(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	s := newStore(t, file.Options{Clock: c, PurgeInterval: -1})
	if err := s.SetWithTTL(ctxBg, "short", entry("s"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMulti(ctxBg, []backend.KeyedEntry{{Key: "multi", Entry: entry("m")}}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctxBg, "forever", entry("f")); err != nil {
		t.Fatal(err)
	}
	if exp, ok, err := s.ExpiresAt(ctxBg, "short"); err != nil || !ok || !exp.Equal(c.Now().Add(time.Minute)) {
		t.Fatalf("expiry of %q = %v (%v, %v), want %v", "short", exp, ok, err, c.Now().Add(time.Minute))
	}
	if exp, ok, _ := s.ExpiresAt(ctxBg, "forever"); !ok || !exp.IsZero() {
		t.Fatalf("expiry of an entry set without TTL = %v, want none", exp)
	}
	present := func(want bool) {
		t.Helper()
		for _, k := range []string{"short", "multi"} {
			if _, ok, err := s.Get(ctxBg, k); ok != want || err != nil {
				t.Errorf("Get(%q) at %v = %v, %v; want %v", k, c.Now(), ok, err, want)
			}
		}
		got, err := s.GetMulti(ctxBg, []string{"short", "multi", "forever"})
		if err != nil || got[0].IsZero() == want || got[1].IsZero() == want || got[2].IsZero() {
			t.Errorf("GetMulti at %v = %v, %v", c.Now(), got, err)
		}
	}
	c.Advance(time.Minute - time.Nanosecond)
	present(true)
	c.Advance(time.Nanosecond)
	present(false)
	if n, _ := s.RawLen(ctxBg); n != 3 {
		t.Fatalf("%d records in the file before the purge, want 3", n)
	}
	if n, err := s.Purge(ctxBg); n != 2 || err != nil {
		t.Fatalf("Purge = %d, %v; want 2 expired entries", n, err)
	}
	if n, _ := s.RawLen(ctxBg); n != 1 {
		t.Fatalf("%d records in the file after the purge, want 1", n)
	}
}

// Writes purge expired entries once per purge interval, whichever process
// writes.
func TestPurgeOnWrite(t *testing.T) {
	c := clock.NewManual(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	s := newStore(t, file.Options{Clock: c, PurgeInterval: time.Hour}) // New's write purges (nothing) and notes the time
	other := newStore(t, file.Options{Filename: s.Path(), Clock: c, PurgeInterval: time.Hour})
	for _, k := range []string{"a", "b", "c"} {
		if err := s.SetWithTTL(ctxBg, k, entry(k), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	c.Advance(30 * time.Minute) // expired, but no purge due
	if err := other.Set(ctxBg, "x", entry("x")); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.RawLen(ctxBg); n != 4 {
		t.Fatalf("%d records before a purge was due, want 4", n)
	}
	c.Advance(30 * time.Minute)
	if err := other.Set(ctxBg, "y", entry("y")); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.RawLen(ctxBg); n != 2 {
		t.Fatalf("%d records after a write with a purge due, want 2 (x, y)", n)
	}
}

func TestKeys(t *testing.T) {
	s := newStore(t, file.Options{})
	huge := strings.Repeat("k", 40_000) // over bbolt's 32 KiB key limit
	keys := []string{"", "k", "\x00", huge, huge + "2"}
	for i, k := range keys {
		if err := s.Set(ctxBg, k, entry(string(rune('a'+i)))); err != nil {
			t.Fatalf("Set(%.10q): %v", k, err)
		}
	}
	for i, k := range keys {
		e, ok, err := s.Get(ctxBg, k)
		if err != nil || !ok || string(e.Data) != string(rune('a'+i)) {
			t.Errorf("Get(%.10q) = %q, %v, %v; want %q", k, e.Data, ok, err, string(rune('a'+i)))
		}
	}
	if s.Mutex("") == nil || s.LockPath("") == s.LockPath(huge) {
		t.Error("lock files of distinct keys collide")
	}
}

func TestUndecodableIsMiss(t *testing.T) {
	s := newStore(t, file.Options{})
	for _, v := range [][]byte{nil, []byte("short"), []byte("0123456789abcdefghijklmnop")} {
		if err := s.PutRaw(ctxBg, "foreign", v); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := s.Get(ctxBg, "foreign"); ok || err != nil {
			t.Errorf("Get of %q = %v, %v; want a miss", v, ok, err)
		}
	}
}

func TestNotAStoreFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a database\n", 1000)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := file.New(file.Options{Filename: path}); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("New on a text file = %v, want an error naming it", err)
	}
}

// Another process holding the data file past the timeout fails the
// operation with ErrBusy, in about the timeout.
func TestBusy(t *testing.T) {
	s := newStore(t, file.Options{Timeout: 100 * time.Millisecond})
	f, err := os.OpenFile(s.RWLockPath(), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, _, err = s.Get(ctxBg, "k")
	if took := time.Since(start); took < 100*time.Millisecond || took > time.Second {
		t.Errorf("Get on a busy file gave up after %v, want about 100ms", took)
	}
	if !errors.Is(err, file.ErrBusy) || !strings.Contains(err.Error(), s.Path()) {
		t.Fatalf("Get on a busy file = %v, want ErrBusy naming the file", err)
	}
	if err := s.Set(ctxBg, "k", entry("v")); !errors.Is(err, file.ErrBusy) {
		t.Fatalf("Set on a busy file = %v, want ErrBusy", err)
	}
	ctx, cancel := context.WithCancel(ctxBg)
	cancel()
	if _, _, err := s.Get(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with a canceled context = %v", err)
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	if err := s.Set(ctxBg, "k", entry("v")); err != nil {
		t.Fatalf("Set once the file is free: %v", err)
	}
}

func TestClosed(t *testing.T) {
	s := newStore(t, file.Options{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(ctxBg, "k"); !errors.Is(err, backend.ErrClosed) {
		t.Errorf("Get after Close = %v, want ErrClosed", err)
	}
	if err := s.Set(ctxBg, "k", entry("v")); !errors.Is(err, backend.ErrClosed) {
		t.Errorf("Set after Close = %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestSerializer(t *testing.T) {
	if s := newStore(t, file.Options{}); s.Serializer() != serializer.Default {
		t.Errorf("Serializer() = %v, want serializer.Default", s.Serializer())
	}
}
