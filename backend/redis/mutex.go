package redis

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/backend"
)

// Scripts that act only when the lock still holds the caller's token, so
// that a holder whose lock expired never releases or extends another's.
var (
	releaseScript = goredis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0`)
	renewScript = goredis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0`)
)

// Mutex returns a new handle on key's creation lock, or nil when the store
// was made with DisableLock.
func (s *Store) Mutex(key string) backend.Mutex {
	if s.o.DisableLock {
		return nil
	}
	return &mutex{s: s, key: s.o.KeyPrefix + s.o.LockPrefix + key}
}

// Locked reports whether key's creation lock is held, by anyone.
func (s *Store) Locked(ctx context.Context, key string) (bool, error) {
	if s.o.DisableLock {
		return false, nil
	}
	n, err := s.rdb.Exists(ctx, s.o.KeyPrefix+s.o.LockPrefix+key).Result()
	return n > 0, err
}

// mutex is one handle on a key's lock. Its token is made when it takes the
// lock, and a renewal goroutine runs while it holds it.
type mutex struct {
	s   *Store
	key string

	mu    sync.Mutex
	token string        // guarded by mu; "" when not held
	stop  chan struct{} // guarded by mu; closes to stop the renewal
	done  chan struct{} // guarded by mu; closed when the renewal has stopped
	lost  bool          // guarded by mu; a renewal found the lock gone
}

func newToken() string {
	var b [16]byte
	_, _ = crand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// TryLock takes the lock if it is free.
func (m *mutex) TryLock(ctx context.Context) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.token != "" {
		return false, fmt.Errorf("redis: lock %q: TryLock on a handle that holds it", m.key)
	}
	token := newToken()
	ok, err := m.s.rdb.SetNX(ctx, m.key, token, m.s.o.LockTimeout).Result()
	if err != nil {
		// Redis may have applied the SET all the same (a deadline that
		// ended while the reply was on its way): release it, or it stays,
		// held by nobody, for the whole timeout. The token is ours alone, so
		// this never releases another owner's lock.
		go m.release(context.WithoutCancel(ctx), token)
		return false, err
	}
	if !ok {
		return false, nil
	}
	m.token, m.lost = token, false
	m.stop, m.done = make(chan struct{}), make(chan struct{})
	go m.renew(token, m.stop, m.done)
	return true, nil
}

// Lock waits until the lock is free and takes it, polling with a jittered
// backoff, until ctx ends or LockBlockingTimeout passes.
func (m *mutex) Lock(ctx context.Context) error {
	var deadline <-chan time.Time
	if bt := m.s.o.LockBlockingTimeout; bt > 0 {
		t := time.NewTimer(bt)
		defer t.Stop()
		deadline = t.C
	}
	sleep := m.s.o.LockSleep
	for {
		ok, err := m.TryLock(ctx)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		// Full jitter: waiters that started together spread out.
		pause := time.Duration(rand.Int64N(int64(sleep))) + sleep/2
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-deadline:
			t.Stop()
			return fmt.Errorf("%w: redis lock %q after %v", backend.ErrLockTimeout, m.key, m.s.o.LockBlockingTimeout)
		}
		sleep = min(sleep*2, m.s.o.LockSleepMax)
	}
}

// renew extends the lock every LockRenewEvery while the handle holds it.
func (m *mutex) renew(token string, stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(m.s.o.LockRenewEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		// Bound each try so a hung Redis cannot hold the goroutine past
		// the lock's own life.
		ctx, cancel := context.WithTimeout(context.Background(), m.s.o.LockTimeout)
		n, err := renewScript.Run(ctx, m.s.rdb, []string{m.key}, token, m.s.o.LockTimeout.Milliseconds()).Int()
		cancel()
		if err == nil && n == 0 {
			m.mu.Lock()
			if m.token == token {
				m.lost = true
			}
			m.mu.Unlock()
			return
		}
		// On an error (Redis briefly away) keep trying: the lock may still
		// be ours when it comes back.
	}
}

// Unlock releases the lock if this handle still owns it.
func (m *mutex) Unlock(ctx context.Context) error {
	m.mu.Lock()
	token, stop, done, lost := m.token, m.stop, m.done, m.lost
	m.token, m.stop, m.done, m.lost = "", nil, nil, false
	m.mu.Unlock()
	if token == "" {
		return fmt.Errorf("%w: redis lock %q was not taken by this handle", backend.ErrLockNotHeld, m.key)
	}
	close(stop)
	<-done
	// The token is forgotten now: release even when ctx has ended (the
	// caller gave up on its request), or the lock would stay, held by
	// nobody, until it times out.
	n, err := m.release(context.WithoutCancel(ctx), token)
	if err != nil {
		return err
	}
	if n == 0 || lost {
		return fmt.Errorf("%w: redis lock %q expired before it was released", backend.ErrLockNotHeld, m.key)
	}
	return nil
}

// release deletes the lock if it still holds token, trying for at most the
// lock's timeout.
func (m *mutex) release(ctx context.Context, token string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, m.s.o.LockTimeout)
	defer cancel()
	return releaseScript.Run(ctx, m.s.rdb, []string{m.key}, token).Int()
}
