package tiered_test

import (
	"context"
	"fmt"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/redis"
	"github.com/dogpile-go/dogpile/backend/tiered"
	"github.com/dogpile-go/dogpile/region"
)

// A region over the two-tier store: hits come from this process's memory,
// and a write in any process drops the copies of the others. Tagged calls
// keep the SQL layer's guarantee: a hit is checked against the tag versions
// in Redis. (Not run: it needs a Redis server.)
func Example() {
	store, err := tiered.New(tiered.Options{
		Redis:    &redis.Options{URL: "redis://localhost:6379/0", KeyPrefix: "myapp:"},
		MaxBytes: 256 << 20, // the near tier's bound
	})
	if err != nil {
		panic(err)
	}
	defer store.Close()
	users := region.New("users").MustConfigure(region.Config{Backend: store, Expiration: 10 * time.Minute})
	name, err := region.GetOrCreate(context.Background(), users, "user:42", func(ctx context.Context) (string, error) {
		return "Ada", nil // from the database
	}, region.WithTags("myapp:t:public.users"))
	fmt.Println(name, err)
}

// The same store by name, as from a configuration file, with tag states
// cached in the process (bounded coherence).
func Example_registry() {
	users := region.New("users")
	err := users.Configure(region.Config{
		BackendName: "redis_tiered",
		Arguments: backend.Arguments{
			"url":            "redis://localhost:6379/0",
			"key_prefix":     "myapp:",
			"near_max_bytes": 256 << 20,
			"coherence":      "bounded",
			"max_tag_age":    "1s",
		},
		Expiration: 10 * time.Minute,
	})
	fmt.Println(err)
}
