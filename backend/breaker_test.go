package backend_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/clock"
)

// downStore fails while down is set, and counts the calls that reach it.
type downStore struct {
	backend.ProxyBackend
	down  atomic.Bool
	calls atomic.Int64
}

var errDown = errors.New("down")

func (d *downStore) Get(ctx context.Context, k string) (backend.Entry, bool, error) {
	d.calls.Add(1)
	if err := ctx.Err(); err != nil {
		return backend.Entry{}, false, err
	}
	if d.down.Load() {
		return backend.Entry{}, false, errDown
	}
	return d.Proxied().Get(ctx, k)
}

func TestBreaker(t *testing.T) {
	store, _ := memory.New(memory.Options{})
	clk := clock.NewManual(time.Now())
	br, err := backend.NewBreaker(backend.BreakerOptions{Threshold: 3, Cooldown: time.Second, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ds := &downStore{}
	b, _ := backend.Wrap(store, br, ds)
	ctx := context.Background()
	ds.down.Store(true)
	for i := range 3 {
		if _, _, err := b.Get(ctx, "k"); !errors.Is(err, errDown) {
			t.Fatalf("call %d = %v, want the store's error", i, err)
		}
	}
	if !br.Open() {
		t.Fatal("3 failures in a row did not open the breaker")
	}
	before := ds.calls.Load()
	for range 10 {
		if _, _, err := b.Get(ctx, "k"); !errors.Is(err, backend.ErrBreakerOpen) {
			t.Fatalf("open breaker = %v, want ErrBreakerOpen", err)
		}
	}
	if ds.calls.Load() != before {
		t.Fatal("an open breaker called the store")
	}
	clk.Advance(time.Second)
	ds.down.Store(false)
	if _, _, err := b.Get(ctx, "k"); err != nil {
		t.Fatalf("after the cooldown = %v", err)
	}
	if br.Open() {
		t.Fatal("a success did not close the breaker")
	}
	// Cancellations are not failures.
	ds.down.Store(true)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	for range 5 {
		_, _, _ = b.Get(cctx, "k")
	}
	if br.Open() {
		t.Fatal("context cancellations opened the breaker")
	}
	if _, err := backend.NewBreaker(backend.BreakerOptions{Threshold: -1}); !errors.Is(err, backend.ErrBadArgument) {
		t.Fatalf("negative threshold = %v", err)
	}
}
