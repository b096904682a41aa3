package redis_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/backend/redis"
	"github.com/dogpile-go/dogpile/internal/testenv"
	"github.com/dogpile-go/dogpile/region"
)

// Redis is stopped mid-run and started again: in the default fallback mode
// no call fails, the backend error counter moves, and caching comes back
// without a new store or region.
func TestRedisStoppedAndStarted(t *testing.T) {
	srv := testenv.NewRedis(t, testenv.RedisOptions{})
	store := newStore(t, redis.Options{
		Universal: &goredis.UniversalOptions{
			Addrs:       []string{srv.Addr()},
			DialTimeout: 200 * time.Millisecond, ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond,
			MaxRetries: -1,
		},
	})
	r := region.New("fallback")
	r.MustConfigure(region.Config{Backend: store, Expiration: time.Minute})
	ctx := context.Background()
	var creations atomic.Int64
	create := func(ctx context.Context) (int, error) {
		creations.Add(1)
		return 42, nil
	}
	run := func(phase string, rounds int) {
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range rounds {
					v, err := region.GetOrCreate(ctx, r, "k"+string(rune('a'+(g+i)%4)), create)
					if err != nil || v != 42 {
						t.Errorf("%s: GetOrCreate = %v, %v; no call may fail", phase, v, err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	run("before", 50)
	if c := creations.Load(); c != 4 {
		t.Fatalf("before the stop: %d creations for 4 keys", c)
	}
	srv.Stop(t)
	before := r.Stats().BackendErrors
	run("while stopped", 50)
	if r.Stats().BackendErrors == before {
		t.Fatal("the backend error counter did not move while Redis was down")
	}
	srv.Start(t)
	// Redis came back empty: one more creation per key, then hits again.
	creationsBefore := creations.Load()
	deadline := time.Now().Add(10 * time.Second)
	for {
		run("after", 20)
		if creations.Load()-creationsBefore <= 4 {
			before := creations.Load()
			run("after, cached", 20)
			if creations.Load() == before {
				break // served from Redis again
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("caching did not recover within 10s of Redis's restart (%d creations)", creations.Load())
		}
		creationsBefore = creations.Load()
	}
}
