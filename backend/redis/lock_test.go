package redis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/redis"
	"github.com/dogpile-go/dogpile/internal/testenv"
)

func lockStores(t *testing.T, o redis.Options) (*redis.Store, *redis.Store, string) {
	t.Helper()
	o.URL = testenv.SharedRedis(t).URL()
	o.KeyPrefix = uniquePrefix(t)
	return newStore(t, o), newStore(t, o), o.KeyPrefix + "lock:"
}

// A creator that runs three times the lock timeout keeps its lock through
// renewal, and releases it cleanly.
func TestLockRenewal(t *testing.T) {
	const timeout = 900 * time.Millisecond // renewed every 300ms: a stall of 600ms under load still leaves it held
	a, b, lockPrefix := lockStores(t, redis.Options{LockTimeout: timeout})
	ctx := context.Background()
	m1 := a.Mutex("k")
	if ok, err := m1.TryLock(ctx); err != nil || !ok {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}
	held := time.Now()
	for time.Since(held) < 3*timeout {
		if ok, err := b.Mutex("k").TryLock(ctx); err != nil || ok {
			t.Fatalf("after %v another handle took the lock (%v, %v): renewal failed", time.Since(held), ok, err)
		}
		if left := a.Client().PTTL(ctx, lockPrefix+"k").Val(); left <= 0 {
			t.Fatalf("after %v the lock has no TTL left (%v)", time.Since(held), left)
		}
		time.Sleep(timeout / 6)
	}
	if err := m1.Unlock(ctx); err != nil {
		t.Fatalf("Unlock after %v held = %v, want a clean release", time.Since(held), err)
	}
	if n := a.Client().Exists(ctx, lockPrefix+"k").Val(); n != 0 {
		t.Fatal("lock key still there after Unlock")
	}
}

// A holder that died (its lock is there, nobody renews it) frees the lock
// after the timeout: a waiter gets it then.
func TestLockOfDeadHolderExpires(t *testing.T) {
	a, _, lockPrefix := lockStores(t, redis.Options{LockTimeout: time.Second})
	ctx := context.Background()
	const dead = 400 * time.Millisecond
	a.Client().Set(ctx, lockPrefix+"k", "token-of-a-dead-process", dead)
	start := time.Now()
	m := a.Mutex("k")
	if err := m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < dead/2 || waited > dead+2*time.Second {
		t.Fatalf("Lock took the dead holder's lock after %v, want about %v", waited, dead)
	}
	if err := m.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestLockBlockingTimeout(t *testing.T) {
	a, _, lockPrefix := lockStores(t, redis.Options{LockBlockingTimeout: 100 * time.Millisecond})
	ctx := context.Background()
	a.Client().Set(ctx, lockPrefix+"k", "someone", time.Minute)
	err := a.Mutex("k").Lock(ctx)
	if !errors.Is(err, backend.ErrLockTimeout) {
		t.Fatalf("Lock past LockBlockingTimeout = %v, want ErrLockTimeout", err)
	}
}

// A holder whose lock was lost (expired and taken by another) must not
// release the new owner's lock.
func TestUnlockDoesNotReleaseAnotherOwner(t *testing.T) {
	a, _, lockPrefix := lockStores(t, redis.Options{})
	ctx := context.Background()
	m := a.Mutex("k")
	if ok, _ := m.TryLock(ctx); !ok {
		t.Fatal("TryLock failed")
	}
	// The lock expires and another process takes it.
	a.Client().Set(ctx, lockPrefix+"k", "new-owner", time.Minute)
	if err := m.Unlock(ctx); !errors.Is(err, backend.ErrLockNotHeld) {
		t.Fatalf("Unlock of a lost lock = %v, want ErrLockNotHeld", err)
	}
	if v := a.Client().Get(ctx, lockPrefix+"k").Val(); v != "new-owner" {
		t.Fatalf("the new owner's lock was released (now %q)", v)
	}
}

func TestDisableLock(t *testing.T) {
	a, _, _ := lockStores(t, redis.Options{DisableLock: true})
	if m := a.Mutex("k"); m != nil {
		t.Fatal("DisableLock store offers a lock")
	}
	if locked, err := a.Locked(context.Background(), "k"); err != nil || locked {
		t.Fatalf("Locked = %v, %v", locked, err)
	}
}
