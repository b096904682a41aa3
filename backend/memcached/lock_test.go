package memcached_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/memcached"
	"github.com/dogpile-go/dogpile/internal/testenv"
	"github.com/dogpile-go/dogpile/region"
)

// twoHandles returns two stores on the same keys with separate clients, as
// two processes would have.
func twoHandles(t *testing.T, o memcached.Options) (*memcached.Store, *memcached.Store) {
	t.Helper()
	a := newStore(t, testenv.SharedMemcached(t).Addr(), o)
	o.Servers = []string{testenv.SharedMemcached(t).Addr()}
	o.KeyPrefix = strings.TrimSuffix(a.ServerKey("x"), "x")
	return a, openStore(t, o)
}

func mustTryLock(t *testing.T, m backend.Mutex, want bool) {
	t.Helper()
	ok, err := m.TryLock(ctxBg)
	if err != nil || ok != want {
		t.Fatalf("TryLock = %v, %v; want %v, nil", ok, err, want)
	}
}

// Only the owner releases the lock: another handle's Unlock, even one that
// knows the key, leaves it in place.
func TestLockOwnerCheckedRelease(t *testing.T) {
	a, b := twoHandles(t, memcached.Options{})
	owner, other := a.Mutex("k"), b.Mutex("k")
	mustTryLock(t, owner, true)
	if err := other.Unlock(ctxBg); !errors.Is(err, backend.ErrLockNotHeld) {
		t.Fatalf("Unlock by a handle that never locked = %v, want ErrLockNotHeld", err)
	}
	mustTryLock(t, other, false)
	if locked, err := b.Locked(ctxBg, "k"); !locked || err != nil {
		t.Fatalf("Locked = %v, %v; want true", locked, err)
	}
	if err := owner.Unlock(ctxBg); err != nil {
		t.Fatalf("Unlock by the owner: %v", err)
	}
	if err := owner.Unlock(ctxBg); !errors.Is(err, backend.ErrLockNotHeld) {
		t.Fatalf("second Unlock = %v, want ErrLockNotHeld", err)
	}
	if locked, err := b.Locked(ctxBg, "k"); locked || err != nil {
		t.Fatalf("Locked after release = %v, %v; want false", locked, err)
	}
	// Each handle has its own token: a second handle of the same store is
	// another owner too.
	m1, m2 := a.Mutex("k2"), a.Mutex("k2")
	mustTryLock(t, m1, true)
	mustTryLock(t, m2, false)
	if err := m2.Unlock(ctxBg); !errors.Is(err, backend.ErrLockNotHeld) {
		t.Fatalf("Unlock by another handle of the same store = %v, want ErrLockNotHeld", err)
	}
	if err := m1.Unlock(ctxBg); err != nil {
		t.Fatal(err)
	}
}

// A holder keeps its lock for three times the lock timeout through
// renewal, and releases it cleanly.
func TestLockRenewal(t *testing.T) {
	t.Parallel()
	const timeout = memcached.MinLockTimeout
	a, b := twoHandles(t, memcached.Options{LockTimeout: timeout})
	owner, other := a.Mutex("k"), b.Mutex("k")
	mustTryLock(t, owner, true)
	addr := testenv.SharedMemcached(t).Addr()
	end := time.Now().Add(3 * timeout)
	for time.Now().Before(end) {
		mustTryLock(t, other, false)
		if ttl, ok := serverTTL(t, addr, a.LockItemKey("k")); !ok || ttl > timeout {
			t.Fatalf("lock item TTL = %v (present %v), want at most %v", ttl, ok, timeout)
		}
		time.Sleep(250 * time.Millisecond) // polling the holder, not aging a value
	}
	if err := owner.Unlock(ctxBg); err != nil {
		t.Fatalf("Unlock after 3× the lock timeout: %v", err)
	}
	mustTryLock(t, other, true)
	if err := other.Unlock(ctxBg); err != nil {
		t.Fatal(err)
	}
}

// A holder that stops renewing (its process died) blocks others only until
// the lock timeout; its late Unlock then leaves the new owner's lock alone.
func TestLockAbandoned(t *testing.T) {
	t.Parallel()
	const timeout = memcached.MinLockTimeout
	a, b := twoHandles(t, memcached.Options{LockTimeout: timeout})
	dead, next := a.Mutex("k"), b.Mutex("k")
	mustTryLock(t, dead, true)
	memcached.AbandonLock(dead)
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctxBg, 3*timeout)
	defer cancel()
	if err := next.Lock(ctx); err != nil {
		t.Fatalf("Lock after the holder died: %v", err)
	}
	// memcached's clock ticks once a second: an item given 2s goes after
	// between 1s and 2s (and the waiter's backoff adds up to 250ms).
	if took := time.Since(start); took < timeout/4 || took > timeout+time.Second {
		t.Errorf("the abandoned lock was taken over after %v, want about the lock timeout %v", took, timeout)
	}
	if err := dead.Unlock(ctxBg); !errors.Is(err, backend.ErrLockNotHeld) {
		t.Fatalf("late Unlock by the dead holder = %v, want ErrLockNotHeld", err)
	}
	if locked, err := a.Locked(ctxBg, "k"); !locked || err != nil {
		t.Fatalf("the dead holder's late Unlock released the new owner's lock (Locked = %v, %v)", locked, err)
	}
	if err := next.Unlock(ctxBg); err != nil {
		t.Fatalf("Unlock by the new owner: %v", err)
	}
}

func TestLockBlockingTimeout(t *testing.T) {
	a, b := twoHandles(t, memcached.Options{LockBlockingTimeout: 150 * time.Millisecond})
	owner, other := a.Mutex("k"), b.Mutex("k")
	mustTryLock(t, owner, true)
	defer owner.Unlock(ctxBg)
	start := time.Now()
	err := other.Lock(ctxBg)
	took := time.Since(start)
	if !errors.Is(err, backend.ErrLockTimeout) || !strings.Contains(err.Error(), "150ms") {
		t.Fatalf("Lock past lock_blocking_timeout = %v, want ErrLockTimeout naming the limit", err)
	}
	if took < 150*time.Millisecond || took > time.Second {
		t.Errorf("Lock gave up after %v, want about 150ms", took)
	}
}

func TestLockContext(t *testing.T) {
	a, b := twoHandles(t, memcached.Options{})
	owner, other := a.Mutex("k"), b.Mutex("k")
	mustTryLock(t, owner, true)
	defer owner.Unlock(ctxBg)
	ctx, cancel := context.WithCancel(ctxBg)
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	if err := other.Lock(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Lock with a canceled context = %v, want context.Canceled", err)
	}
	if _, err := other.TryLock(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("TryLock with a canceled context = %v, want context.Canceled", err)
	}
}

func TestLockDisabled(t *testing.T) {
	s := newStore(t, testenv.SharedMemcached(t).Addr(), memcached.Options{DisableLock: true})
	if m := s.Mutex("k"); m != nil {
		t.Fatalf("Mutex with DisableLock = %v, want nil", m)
	}
	if m := backend.MutexFor(s, "k"); m != nil {
		t.Fatalf("backend.MutexFor with DisableLock = %v, want nil", m)
	}
}

// Regions on separate clients (as in separate processes) create a missing
// key once between them, through the store's lock.
func TestRegionsShareTheLock(t *testing.T) {
	const clients, callers = 3, 8
	first := newStore(t, testenv.SharedMemcached(t).Addr(), memcached.Options{})
	prefix := strings.TrimSuffix(first.ServerKey("x"), "x")
	var created atomic.Int64
	create := func(context.Context) (string, error) {
		created.Add(1)
		time.Sleep(200 * time.Millisecond) // the creation's work
		return "value", nil
	}
	var wg sync.WaitGroup
	for c := range clients {
		s := first
		if c > 0 {
			s = openStore(t, memcached.Options{Servers: []string{testenv.SharedMemcached(t).Addr()}, KeyPrefix: prefix})
		}
		r := region.New(fmt.Sprint("client-", c))
		if err := r.Configure(region.Config{Backend: s, Expiration: time.Hour}); err != nil {
			t.Fatal(err)
		}
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if v, err := region.GetOrCreate(ctxBg, r, "shared", create); err != nil || v != "value" {
					t.Errorf("GetOrCreate = %q, %v", v, err)
				}
			}()
		}
	}
	wg.Wait()
	if n := created.Load(); n != 1 {
		t.Fatalf("creator ran %d times across %d clients, want once", n, clients)
	}
}
