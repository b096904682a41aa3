package memcached_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/memcached"
	"github.com/dogpile-go/dogpile/internal/testenv"
	"github.com/dogpile-go/dogpile/region"
)

const opTimeout = 200 * time.Millisecond

// storeCalls are every call of the store, for the fault tests.
func storeCalls(s *memcached.Store) map[string]func(context.Context) error {
	e := backend.Entry{Data: []byte("x"), Meta: backend.Metadata{Created: time.Now(), Version: 1}}
	return map[string]func(context.Context) error{
		"Get":        func(ctx context.Context) error { _, _, err := s.Get(ctx, "k"); return err },
		"Set":        func(ctx context.Context) error { return s.Set(ctx, "k", e) },
		"SetWithTTL": func(ctx context.Context) error { return s.SetWithTTL(ctx, "k", e, time.Minute) },
		"Delete":     func(ctx context.Context) error { return s.Delete(ctx, "k") },
		"GetMulti":   func(ctx context.Context) error { _, err := s.GetMulti(ctx, []string{"a", "b"}); return err },
		"SetMulti": func(ctx context.Context) error {
			return s.SetMulti(ctx, []backend.KeyedEntry{{Key: "a", Entry: e}}, 0)
		},
		"DeleteMulti": func(ctx context.Context) error { return s.DeleteMulti(ctx, []string{"a", "b"}) },
		"TryLock":     func(ctx context.Context) error { _, err := s.Mutex("k").TryLock(ctx); return err },
		"Lock":        func(ctx context.Context) error { return s.Mutex("k").Lock(ctx) },
		"Locked":      func(ctx context.Context) error { _, err := s.Locked(ctx, "k"); return err },
	}
}

// With memcached stopped, every call fails promptly; a region over the
// store answers every GetOrCreate from the creator; once memcached is back
// the same store caches again.
func TestServerDown(t *testing.T) {
	srv := testenv.NewMemcached(t, testenv.MemcachedOptions{})
	s := newStore(t, srv.Addr(), memcached.Options{Timeout: opTimeout})
	r := region.New("down")
	if err := r.Configure(region.Config{Backend: s, Expiration: time.Hour}); err != nil {
		t.Fatal(err)
	}
	var created atomic.Int64
	create := func(context.Context) (string, error) {
		return fmt.Sprint("made-", created.Add(1)), nil
	}
	if v, err := region.GetOrCreate(ctxBg, r, "key", create); err != nil || v != "made-1" {
		t.Fatalf("GetOrCreate with memcached up = %q, %v", v, err)
	}

	srv.Stop(t)
	for name, call := range storeCalls(s) {
		err := within(t, name+" with memcached down", 2*opTimeout, func() error { return call(ctxBg) })
		if err == nil {
			t.Errorf("%s with memcached down = nil, want an error", name)
		} else if errors.Is(err, backend.ErrLockTimeout) || errors.Is(err, backend.ErrLockNotHeld) {
			t.Errorf("%s with memcached down = %v, want the connection's error", name, err)
		}
	}
	const callers = 20
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A key per caller: with the store down each is made by its
			// creator, none served from a cache.
			v, err := region.GetOrCreate(ctxBg, r, fmt.Sprint("down-", i), create)
			if err != nil || v == "" {
				t.Errorf("GetOrCreate with memcached down = %q, %v; want the creator's value", v, err)
			}
		}()
	}
	wg.Wait()
	if st := r.Stats(); st.BackendErrors == 0 {
		t.Error("the region counted no backend errors with memcached down")
	}
	before := created.Load()
	if v, err := region.GetOrCreate(ctxBg, r, "key", create); err != nil || v == "made-1" {
		t.Fatalf("GetOrCreate of a cached key with memcached down = %q, %v; want a new value", v, err)
	}

	srv.Start(t) // empty
	v, err := region.GetOrCreate(ctxBg, r, "key", create)
	if err != nil {
		t.Fatalf("GetOrCreate after memcached came back: %v", err)
	}
	again, err := region.GetOrCreate(ctxBg, r, "key", create)
	if err != nil || again != v {
		t.Fatalf("second GetOrCreate after memcached came back = %q, %v; want the cached %q", again, err, v)
	}
	if _, ok, err := s.Get(ctxBg, s.KeyMangler()("key")); !ok || err != nil {
		t.Fatalf("the store holds no value after memcached came back (%v, %v)", ok, err)
	}
	if n := created.Load() - before; n != 2 {
		t.Errorf("creator ran %d times across the two calls after the restart, want 2 (once down, once back)", n)
	}
	m := s.Mutex("key")
	mustTryLock(t, m, true)
	if err := m.Unlock(ctxBg); err != nil {
		t.Fatalf("Unlock after memcached came back: %v", err)
	}
}

// A server that hangs (paused) costs each call at most the timeout, not a
// hang.
func TestServerHangs(t *testing.T) {
	srv := testenv.NewMemcached(t, testenv.MemcachedOptions{})
	s := newStore(t, srv.Addr(), memcached.Options{Timeout: opTimeout})
	m := s.Mutex("held")
	mustTryLock(t, m, true) // renewal will fail while paused, and must not hang Unlock
	srv.Pause(t)
	waitUnresponsive(t, srv.Addr())
	for _, name := range []string{"Get", "Set", "GetMulti", "TryLock", "Locked"} {
		call := storeCalls(s)[name]
		// A dial, a write and a read, each bounded by the timeout.
		if err := within(t, name+" with memcached paused", 4*opTimeout, func() error { return call(ctxBg) }); err == nil {
			t.Errorf("%s with memcached paused = nil, want a timeout", name)
		}
	}
	if err := within(t, "Unlock with memcached paused", 4*opTimeout, func() error { return m.Unlock(ctxBg) }); err == nil {
		t.Error("Unlock with memcached paused = nil, want a timeout")
	}
	srv.Resume(t)
	if err := storeCalls(s)["Set"](ctxBg); err != nil {
		t.Fatalf("Set after memcached resumed: %v", err)
	}
}

// After a restart the client's idle connections are dead; the first call
// on each must not fail now that the server is back.
func TestServerRestartQuiet(t *testing.T) {
	srv := testenv.NewMemcached(t, testenv.MemcachedOptions{})
	s := newStore(t, srv.Addr(), memcached.Options{Timeout: opTimeout})
	calls := storeCalls(s)
	// Several at once, so that the client keeps several idle connections.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); _ = calls["Set"](ctxBg) }()
	}
	wg.Wait()
	srv.Restart(t)
	for _, name := range []string{"Get", "Set", "GetMulti", "Delete", "Locked", "TryLock", "Get"} {
		if err := calls[name](ctxBg); err != nil {
			t.Errorf("%s after a restart: %v", name, err)
		}
	}
}

// waitUnresponsive waits until the server at addr stops answering: Pause
// sends SIGSTOP and returns before the kernel has stopped the process.
func waitUnresponsive(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			t.Fatalf("dial %s: %v", addr, err)
		}
		_ = conn.SetDeadline(time.Now().Add(50 * time.Millisecond))
		_, err = fmt.Fprint(conn, "version\r\n")
		if err == nil {
			_, err = bufio.NewReader(conn).ReadString('\n')
		}
		conn.Close()
		if err != nil {
			return
		}
	}
	t.Fatalf("memcached %s still answers 5s after Pause", addr)
}
