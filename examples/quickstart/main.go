// Command quickstart shows the region on its own: get-or-create, expiry,
// and a stampede of goroutines that runs the creator once.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"log"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/clock"
	"github.com/dogpile-go/dogpile/region"
)

func main() {
	ctx := context.Background()
	// A manual clock lets the example show expiry without waiting.
	clk := clock.NewManual(time.Now())
	users := region.New("users", region.WithClock(clk))
	users.MustConfigure(region.Config{BackendName: "memory", Expiration: time.Minute})

	var loads atomic.Int64
	loadUser := func(ctx context.Context) (string, error) {
		n := loads.Add(1)
		time.Sleep(50 * time.Millisecond) // a slow query
		return fmt.Sprintf("Ada (load #%d)", n), nil
	}

	fmt.Println("1. get-or-create")
	for range 2 {
		u, err := region.GetOrCreate(ctx, users, "user:1", loadUser)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("   user:1 = %s\n", u)
	}

	fmt.Println("2. expiry: two minutes later the value is stale and made again")
	clk.Advance(2 * time.Minute)
	u, err := region.GetOrCreate(ctx, users, "user:1", loadUser)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("   user:1 = %s\n", u)

	fmt.Println("3. stampede: 1000 goroutines ask for a missing key at once")
	var wg sync.WaitGroup
	before := loads.Load()
	for range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := region.GetOrCreate(ctx, users, "user:2", loadUser); err != nil {
				log.Fatal(err)
			}
		}()
	}
	wg.Wait()
	fmt.Printf("   creator ran %d time(s) for 1000 callers\n", loads.Load()-before)
	st := users.Stats()
	fmt.Printf("   stats: %d hits, %d misses, %d created, %d waited for the creator\n",
		st.Hits, st.Misses, st.Created, st.LockWaits)
}
