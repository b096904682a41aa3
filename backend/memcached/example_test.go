package memcached_test

import (
	"context"
	"fmt"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/memcached"
	"github.com/dogpile-go/dogpile/region"
)

// A region over memcached: values are shared by every process that uses the
// same servers and key prefix, and one process at a time creates a key.
// (Not run: it needs a memcached server.)
func Example() {
	s, err := memcached.New(memcached.Options{
		Servers:     []string{"127.0.0.1:11211"},
		KeyPrefix:   "myapp:",
		Expiration:  time.Hour,        // entries go after an hour in memcached
		LockTimeout: 30 * time.Second, // a crashed creator blocks others this long at most
	})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	users := region.New("users").MustConfigure(region.Config{Backend: s, Expiration: 10 * time.Minute})
	name, err := region.GetOrCreate(context.Background(), users, "user:42", func(ctx context.Context) (string, error) {
		return "Ada", nil // from the database, once per ten minutes across processes
	})
	fmt.Println(name, err)
}

// The same store by name, as from a configuration file.
func Example_registry() {
	users := region.New("users")
	err := users.Configure(region.Config{
		BackendName: "memcached",
		Arguments: backend.Arguments{
			"url":                   "10.0.0.1:11211,10.0.0.2:11211",
			"key_prefix":            "myapp:",
			"memcached_expire_time": 3600,
			"lock_timeout":          30,
		},
		Expiration: 10 * time.Minute,
	})
	fmt.Println(err)
}
