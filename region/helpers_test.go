package region_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/clock"
	"github.com/dogpile-go/dogpile/region"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// setup makes a region on a fresh memory store with a manual clock.
func setup(t *testing.T, cfg region.Config, opts ...region.Option) (*region.Region, *clock.Manual) {
	t.Helper()
	clk := clock.NewManual(t0)
	r := region.New(t.Name(), append([]region.Option{region.WithClock(clk)}, opts...)...)
	if cfg.Backend == nil && cfg.BackendName == "" {
		s, err := memory.New(memory.Options{})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Backend = s
	}
	if err := r.Configure(cfg); err != nil {
		t.Fatal(err)
	}
	return r, clk
}

// counter is a creator that counts its calls and returns "v<n>".
type counter struct{ n atomic.Int64 }

func (c *counter) create(context.Context) (string, error) {
	return "v" + itoa(c.n.Add(1)), nil
}

func itoa(n int64) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// failing is a proxy whose calls fail while down is set.
type failing struct {
	backend.ProxyBackend
	down atomic.Bool
}

var errDown = errors.New("backend down")

func (f *failing) Get(ctx context.Context, k string) (backend.Entry, bool, error) {
	if f.down.Load() {
		return backend.Entry{}, false, errDown
	}
	return f.Proxied().Get(ctx, k)
}

func (f *failing) Set(ctx context.Context, k string, e backend.Entry) error {
	if f.down.Load() {
		return errDown
	}
	return f.Proxied().Set(ctx, k, e)
}

func (f *failing) GetMulti(ctx context.Context, ks []string) ([]backend.Entry, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return backend.GetMulti(ctx, f.Proxied(), ks)
}

func (f *failing) SetMulti(ctx context.Context, es []backend.KeyedEntry, ttl time.Duration) error {
	if f.down.Load() {
		return errDown
	}
	return backend.SetMulti(ctx, f.Proxied(), es, ttl)
}

// lockTable is a creation lock shared by several "processes" (stores),
// standing in for Redis's SET NX in tests of the region's lock handling.
type lockTable struct {
	mu     sync.Mutex
	owners map[string]*tableMutex // guarded by mu
	freed  chan struct{}          // closed and replaced when a lock is released; guarded by mu
}

func newLockTable() *lockTable {
	return &lockTable{owners: map[string]*tableMutex{}, freed: make(chan struct{})}
}

// lockingStore is a memory store with a lock from a shared table.
type lockingStore struct {
	*memory.Store
	table *lockTable
}

func (s *lockingStore) Mutex(key string) backend.Mutex { return &tableMutex{t: s.table, key: key} }

func (s *lockingStore) Locked(_ context.Context, key string) (bool, error) {
	s.table.mu.Lock()
	defer s.table.mu.Unlock()
	return s.table.owners[key] != nil, nil
}

type tableMutex struct {
	t   *lockTable
	key string
}

func (m *tableMutex) TryLock(context.Context) (bool, error) {
	m.t.mu.Lock()
	defer m.t.mu.Unlock()
	if m.t.owners[m.key] != nil {
		return false, nil
	}
	m.t.owners[m.key] = m
	return true, nil
}

func (m *tableMutex) Lock(ctx context.Context) error {
	for {
		m.t.mu.Lock()
		if m.t.owners[m.key] == nil {
			m.t.owners[m.key] = m
			m.t.mu.Unlock()
			return nil
		}
		freed := m.t.freed
		m.t.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (m *tableMutex) Unlock(context.Context) error {
	m.t.mu.Lock()
	defer m.t.mu.Unlock()
	if m.t.owners[m.key] != m {
		return backend.ErrLockNotHeld
	}
	delete(m.t.owners, m.key)
	close(m.t.freed)
	m.t.freed = make(chan struct{})
	return nil
}

func newLockingStore(t *testing.T, table *lockTable, shared *memory.Store) *lockingStore {
	if shared == nil {
		var err error
		if shared, err = memory.New(memory.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	return &lockingStore{Store: shared, table: table}
}
