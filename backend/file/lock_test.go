package file_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/file"
)

func mustTryLock(t *testing.T, m backend.Mutex, want bool) {
	t.Helper()
	ok, err := m.TryLock(ctxBg)
	if err != nil || ok != want {
		t.Fatalf("TryLock = %v, %v; want %v, nil", ok, err, want)
	}
}

// Only the handle that holds the lock releases it.
func TestLockOwnerCheckedRelease(t *testing.T) {
	a := newStore(t, file.Options{})
	b := newStore(t, file.Options{Filename: a.Path()})
	owner, other, sameStore := a.Mutex("k"), b.Mutex("k"), a.Mutex("k")
	mustTryLock(t, owner, true)
	for name, m := range map[string]backend.Mutex{"another store's handle": other, "another handle of the store": sameStore} {
		if err := m.Unlock(ctxBg); !errors.Is(err, backend.ErrLockNotHeld) {
			t.Fatalf("Unlock by %s = %v, want ErrLockNotHeld", name, err)
		}
		mustTryLock(t, m, false)
	}
	if _, err := owner.TryLock(ctxBg); err == nil {
		t.Error("TryLock on a handle that holds the lock = nil error, want one")
	}
	if err := owner.Unlock(ctxBg); err != nil {
		t.Fatal(err)
	}
	if err := owner.Unlock(ctxBg); !errors.Is(err, backend.ErrLockNotHeld) {
		t.Fatalf("second Unlock = %v, want ErrLockNotHeld", err)
	}
	mustTryLock(t, other, true)
	if locked, err := a.Locked(ctxBg, "k"); !locked || err != nil {
		t.Fatalf("Locked = %v, %v; want true", locked, err)
	}
	if err := other.Unlock(ctxBg); err != nil {
		t.Fatal(err)
	}
	if locked, err := a.Locked(ctxBg, "k"); locked || err != nil {
		t.Fatalf("Locked after release = %v, %v; want false", locked, err)
	}
}

// Lock files are removed on release, and removing them never lets two
// handles hold a key's lock at once, however the takers interleave with
// the release (each handle has its own open file, as processes do).
func TestLockFileCleanupRace(t *testing.T) {
	s := newStore(t, file.Options{LockWait: 50 * time.Microsecond, LockWaitMax: 200 * time.Microsecond})
	const workers, rounds = 8, 200
	var inside, maxInside, taken atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := s.Mutex("contended")
			for range rounds {
				if err := m.Lock(ctxBg); err != nil {
					t.Error(err)
					return
				}
				n := inside.Add(1)
				for {
					old := maxInside.Load()
					if n <= old || maxInside.CompareAndSwap(old, n) {
						break
					}
				}
				taken.Add(1)
				inside.Add(-1)
				if err := m.Unlock(ctxBg); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if m := maxInside.Load(); m != 1 {
		t.Fatalf("%d handles held the lock at once", m)
	}
	if n := taken.Load(); n != workers*rounds {
		t.Fatalf("lock taken %d times, want %d", n, workers*rounds)
	}
	entries, err := os.ReadDir(strings.TrimSuffix(s.LockPath("x"), "/"+lastElem(s.LockPath("x"))))
	if err != nil || len(entries) != 0 {
		t.Fatalf("lock directory after every release holds %v (%v), want nothing", entries, err)
	}
}

func lastElem(p string) string { return p[strings.LastIndex(p, "/")+1:] }

func TestLockBlockingTimeout(t *testing.T) {
	s := newStore(t, file.Options{LockBlockingTimeout: 100 * time.Millisecond})
	owner, other := s.Mutex("k"), s.Mutex("k")
	mustTryLock(t, owner, true)
	defer owner.Unlock(ctxBg)
	start := time.Now()
	err := other.Lock(ctxBg)
	if !errors.Is(err, backend.ErrLockTimeout) || !strings.Contains(err.Error(), "100ms") {
		t.Fatalf("Lock past lock_blocking_timeout = %v, want ErrLockTimeout naming the limit", err)
	}
	if took := time.Since(start); took < 100*time.Millisecond || took > time.Second {
		t.Errorf("Lock gave up after %v, want about 100ms", took)
	}
}

func TestLockContext(t *testing.T) {
	s := newStore(t, file.Options{})
	owner, other := s.Mutex("k"), s.Mutex("k")
	mustTryLock(t, owner, true)
	defer owner.Unlock(ctxBg)
	ctx, cancel := context.WithTimeout(ctxBg, 50*time.Millisecond)
	defer cancel()
	if err := other.Lock(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock past its deadline = %v, want context.DeadlineExceeded", err)
	}
}

func TestLockDisabled(t *testing.T) {
	s := newStore(t, file.Options{DisableLock: true})
	if m := backend.MutexFor(s, "k"); m != nil {
		t.Fatalf("MutexFor with DisableLock = %v, want nil", m)
	}
}

// The lock directory may be removed under a running store (a cache clean-
// up); the next lock makes it again.
func TestLockDirRemoved(t *testing.T) {
	s := newStore(t, file.Options{})
	dir := strings.TrimSuffix(s.LockPath("k"), "/"+lastElem(s.LockPath("k")))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	m := s.Mutex("k")
	mustTryLock(t, m, true)
	if err := m.Unlock(ctxBg); err != nil {
		t.Fatal(err)
	}
}
