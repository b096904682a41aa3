package file

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

// rwLock is the read-write lock file: its flock, shared for reads and
// exclusive for writes, is taken before the data file is opened. bbolt
// flocks the data file itself too, but it waits for a busy file by
// sleeping 50ms between tries; under this lock bbolt's flock is free at
// once, and a waiter here retries within a few hundred microseconds.
//
// The store's RWMutex already orders this process's operations, so the
// file is opened once and shared: the first of the overlapping readers
// takes the shared flock and the last releases it; a writer, alone in the
// process, takes the exclusive one.
type rwLock struct {
	f *os.File

	mu      sync.Mutex
	readers int // guarded by mu: readers in this process that share the flock
}

func openRWLock(path string, mode os.FileMode) (*rwLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, mode)
	if err != nil {
		return nil, err
	}
	return &rwLock{f: f}, nil
}

func (l *rwLock) lockShared(ctx context.Context, timeout time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.readers == 0 {
		if err := flockWait(ctx, l.f, syscall.LOCK_SH, timeout); err != nil {
			return err
		}
	}
	l.readers++
	return nil
}

func (l *rwLock) unlockShared() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.readers--; l.readers == 0 {
		_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	}
}

// lockExclusive is called with the store's RWMutex held for writing, so no
// reader of this process shares the flock.
func (l *rwLock) lockExclusive(ctx context.Context, timeout time.Duration) error {
	return flockWait(ctx, l.f, syscall.LOCK_EX, timeout)
}

func (l *rwLock) unlockExclusive() {
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
}

func (l *rwLock) close() error { return l.f.Close() }

// Bounds of the pause between tries of flockWait.
const (
	flockFirstPause = 50 * time.Microsecond
	flockMaxPause   = 2 * time.Millisecond
)

// flockWait takes the flock how (LOCK_SH or LOCK_EX) on f, trying again
// after a pause that grows from 50µs to 2ms while another process holds
// it, until timeout (an error wrapping ErrBusy) or the end of ctx.
func flockWait(ctx context.Context, f *os.File, how int, timeout time.Duration) error {
	start := time.Now()
	pause := flockFirstPause
	var timer *time.Timer
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			return fmt.Errorf("flock %s: %w", f.Name(), err)
		}
		waited := time.Since(start)
		if waited >= timeout {
			return fmt.Errorf("%w: %s held by another process for over %v", ErrBusy, f.Name(), timeout)
		}
		d := min(pause, timeout-waited)
		if timer == nil {
			timer = time.NewTimer(d)
			defer timer.Stop()
		} else {
			timer.Reset(d)
		}
		select {
		case <-timer.C:
		case <-ctx.Done():
			return ctx.Err()
		}
		pause = min(pause*2, flockMaxPause)
	}
}
