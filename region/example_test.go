package region_test

import (
	"context"
	"fmt"
	"time"

	"github.com/dogpile-go/dogpile/region"
)

func ExampleGetOrCreate() {
	users := region.New("users")
	users.MustConfigure(region.Config{BackendName: "memory", Expiration: time.Minute})
	ctx := context.Background()

	load := func(ctx context.Context) (string, error) {
		fmt.Println("loading user 42")
		return "Ada", nil
	}
	for range 3 {
		name, err := region.GetOrCreate(ctx, users, "user:42", load)
		fmt.Println(name, err)
	}
	// Output:
	// loading user 42
	// Ada <nil>
	// Ada <nil>
	// Ada <nil>
}

func ExampleCacheOnArguments() {
	r := region.New("squares")
	square := region.MustCacheOnArguments(r, func(_ context.Context, n int) (int, error) {
		fmt.Println("computing", n)
		return n * n, nil
	}, region.FuncName("square"))
	r.MustConfigure(region.Config{BackendName: "memory"})
	ctx := context.Background()

	a, _ := square.Call(ctx, 9)
	b, _ := square.Call(ctx, 9)
	fmt.Println(a, b, square.Key(9))
	_ = square.Invalidate(ctx, 9)
	c, _ := square.Call(ctx, 9)
	fmt.Println(c)
	// Output:
	// computing 9
	// 81 81 square|9
	// computing 9
	// 81
}

func ExampleCacheMultiOnArguments() {
	r := region.New("users")
	r.MustConfigure(region.Config{BackendName: "memory"})
	names := region.MustCacheMultiOnArguments(r, func(_ context.Context, ids []int) (map[int]string, error) {
		fmt.Println("loading", len(ids), "users")
		out := map[int]string{}
		for _, id := range ids {
			out[id] = fmt.Sprint("user", id)
		}
		return out, nil
	})
	ctx := context.Background()
	first, _ := names.Call(ctx, 1, 2)
	second, _ := names.Call(ctx, 1, 2, 3) // only 3 is loaded
	fmt.Println(first[1], second[3], len(second))
	// Output:
	// loading 2 users
	// loading 1 users
	// user1 user3 3
}

func ExamplePool() {
	pool, _ := region.NewPool(region.PoolOptions{Workers: 2, QueueSize: 64})
	defer pool.Close(context.Background())

	r := region.New("reports", region.WithRunner(pool))
	r.MustConfigure(region.Config{BackendName: "memory", Expiration: time.Minute})
	ctx := context.Background()

	_ = region.Set(ctx, r, "daily", "yesterday's report")
	_ = r.Invalidate(ctx, false) // soft: the value is stale, not gone
	time.Sleep(time.Millisecond)

	refreshed := make(chan struct{})
	report, _ := region.GetOrCreate(ctx, r, "daily", func(context.Context) (string, error) {
		defer close(refreshed)
		return "today's report", nil
	})
	fmt.Println("served at once:", report)
	<-refreshed
	for {
		if v, ok, _ := region.Get[string](ctx, r, "daily"); ok {
			fmt.Println("after the background refresh:", v)
			break
		}
		time.Sleep(time.Millisecond)
	}
	// Output:
	// served at once: yesterday's report
	// after the background refresh: today's report
}
