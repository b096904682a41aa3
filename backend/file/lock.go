package file

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/dogpile-go/dogpile/backend"
)

// Mutex returns a new, unlocked creation lock for key, or nil when the
// lock is turned off ([Options.DisableLock]).
//
// The lock is an exclusive flock on a file of the lock directory named
// after the SHA-256 of the key. The kernel drops a flock when its holder's
// process ends, however it ends, so a crashed holder frees the lock at once
// and no lock timeout is needed; for the same reason a live holder keeps it
// for as long as it likes, with nothing to renew.
//
// Lock files are removed on release without a race: the holder unlinks the
// file while it still holds the flock, and a taker, once it has the flock,
// checks that the path still names the file it locked, and starts again
// with a fresh file when it does not. So two takers never both believe they
// hold a key's lock, one on the unlinked file and one on its successor.
func (s *Store) Mutex(key string) backend.Mutex {
	if !s.lock.enabled {
		return nil
	}
	return &Mutex{s: s, key: key, path: s.lockPath(key)}
}

// lockPath is the path of key's lock file.
func (s *Store) lockPath(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(s.lockDir, hex.EncodeToString(sum[:20])+".lock")
}

// Locked reports whether key's creation lock is held, by this process or
// another. It looks by trying a shared flock on the lock file, which it
// drops at once; a TryLock at that very moment may find the lock taken.
func (s *Store) Locked(ctx context.Context, key string) (bool, error) {
	if err := s.ready(ctx); err != nil {
		return false, err
	}
	f, err := os.Open(s.lockPath(key))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("file store: creation lock of %s: %w", quote(key), err)
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	switch {
	case errors.Is(err, syscall.EWOULDBLOCK):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("file store: creation lock of %s: flock %s: %w", quote(key), f.Name(), err)
	}
	return false, nil // closing f drops the shared flock
}

// Mutex is a handle on one key's creation lock file (see [Store.Mutex]).
// It is used by one goroutine at a time, as [backend.Mutex] requires.
type Mutex struct {
	s    *Store
	key  string
	path string

	mu sync.Mutex
	f  *os.File // guarded by mu: the locked file while this handle holds the lock
}

// TryLock takes the lock if no one holds it.
func (m *Mutex) TryLock(ctx context.Context) (bool, error) {
	if err := m.s.ready(ctx); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.f != nil {
		return false, fmt.Errorf("file store: creation lock of %s: TryLock on a handle that already holds it", quote(m.key))
	}
	for {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		f, err := os.OpenFile(m.path, os.O_RDWR|os.O_CREATE, m.s.mode)
		if errors.Is(err, os.ErrNotExist) {
			// The lock directory was removed under us: make it again.
			if err = os.MkdirAll(m.s.lockDir, dirMode(m.s.mode)); err == nil {
				continue
			}
		}
		if err != nil {
			return false, fmt.Errorf("file store: creation lock of %s: %w", quote(m.key), err)
		}
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return false, nil
		}
		if err != nil {
			f.Close()
			return false, fmt.Errorf("file store: creation lock of %s: flock %s: %w", quote(m.key), m.path, err)
		}
		if samePath(f, m.path) {
			m.f = f
			return true, nil
		}
		// The holder before us unlinked the file after we opened it: our
		// flock is on a file no one else will look at. Start again.
		f.Close()
	}
}

// samePath reports whether path still names the open file f.
func samePath(f *os.File, path string) bool {
	var held, named syscall.Stat_t
	if syscall.Fstat(int(f.Fd()), &held) != nil || syscall.Stat(path, &named) != nil {
		return false
	}
	return held.Dev == named.Dev && held.Ino == named.Ino
}

// Lock takes the lock, waiting while another owner holds it: it tries
// again after a pause that starts at [Options.LockWait] and doubles, with
// jitter, up to [Options.LockWaitMax]. It gives up when ctx ends (with
// ctx's error) or after [Options.LockBlockingTimeout] (with an error
// wrapping [backend.ErrLockTimeout]).
func (m *Mutex) Lock(ctx context.Context) error {
	lc := m.s.lock
	var deadline time.Time
	if lc.blockWait > 0 {
		deadline = time.Now().Add(lc.blockWait)
	}
	pause := lc.wait
	timer := time.NewTimer(0)
	<-timer.C
	defer timer.Stop()
	for {
		ok, err := m.TryLock(ctx)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		d := pause/2 + rand.N(pause/2+1) // jitter, so waiters spread out
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				return fmt.Errorf("%w: file store creation lock of %s still held by another owner after %v (lock_blocking_timeout)", backend.ErrLockTimeout, quote(m.key), lc.blockWait)
			}
			d = min(d, left)
		}
		timer.Reset(d)
		select {
		case <-timer.C:
		case <-ctx.Done():
			return fmt.Errorf("file store: waiting for the creation lock of %s: %w", quote(m.key), ctx.Err())
		case <-m.s.done:
			return backend.ErrClosed
		}
		pause = min(pause*2, lc.waitMax)
	}
}

// Unlock releases the lock if this handle holds it, and returns an error
// wrapping [backend.ErrLockNotHeld] otherwise. The lock file is unlinked
// before the flock is dropped (see [Store.Mutex]).
func (m *Mutex) Unlock(_ context.Context) error {
	// The context is not looked at: releasing takes no waiting, and is
	// worth doing for a caller whose context ended.
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.f == nil {
		return fmt.Errorf("%w: file store creation lock of %s: this handle does not hold it", backend.ErrLockNotHeld, quote(m.key))
	}
	f := m.f
	m.f = nil
	rerr := os.Remove(m.path)
	if errors.Is(rerr, os.ErrNotExist) {
		rerr = nil // removed by hand; the flock is ours all the same
	}
	cerr := f.Close()
	if err := errors.Join(rerr, cerr); err != nil {
		return fmt.Errorf("file store: releasing the creation lock of %s: %w", quote(m.key), err)
	}
	return nil
}

var _ backend.Mutex = (*Mutex)(nil)
