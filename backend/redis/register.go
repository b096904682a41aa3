package redis

import (
	"fmt"
	"net"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/serializer"
)

func init() {
	backend.Register("redis", func(args backend.Arguments) (backend.Backend, error) {
		return open(args, "single", "url", "host", "port", "db", "username", "password")
	})
	backend.Register("redis_sentinel", func(args backend.Arguments) (backend.Backend, error) {
		return open(args, "sentinel", "sentinels", "service_name", "db", "username", "password", "sentinel_password")
	})
	backend.Register("redis_cluster", func(args backend.Arguments) (backend.Backend, error) {
		return open(args, "cluster", "url", "startup_nodes", "username", "password")
	})
}

// commonArgs are the arguments every registered form takes.
var commonArgs = []string{
	"distributed_lock", "lock_timeout", "lock_sleep", "lock_sleep_max", "lock_blocking_timeout",
	"redis_expiration_time", "key_prefix", "lock_prefix", "serializer", "socket_timeout", "pool_size",
}

// open reads a store's options from configuration arguments.
func open(args backend.Arguments, mode string, where ...string) (backend.Backend, error) {
	if err := args.Only(append(where, commonArgs...)...); err != nil {
		return nil, err
	}
	var o Options
	lock, err := args.Bool("distributed_lock", true)
	if err != nil {
		return nil, err
	}
	o.DisableLock = !lock
	for name, dst := range map[string]*time.Duration{
		"lock_timeout": &o.LockTimeout, "lock_sleep": &o.LockSleep, "lock_sleep_max": &o.LockSleepMax,
		"lock_blocking_timeout": &o.LockBlockingTimeout, "redis_expiration_time": &o.Expiration,
	} {
		if *dst, err = args.Duration(name, 0); err != nil {
			return nil, err
		}
	}
	if o.KeyPrefix, err = args.String("key_prefix", ""); err != nil {
		return nil, err
	}
	if o.LockPrefix, err = args.String("lock_prefix", ""); err != nil {
		return nil, err
	}
	name, err := args.String("serializer", "")
	if err != nil {
		return nil, err
	}
	if o.Serializer, err = serializer.Lookup(name); err != nil {
		return nil, err
	}
	u := &goredis.UniversalOptions{}
	if u.ReadTimeout, err = args.Duration("socket_timeout", 0); err != nil {
		return nil, err
	}
	u.WriteTimeout = u.ReadTimeout
	if u.PoolSize, err = args.Int("pool_size", 0); err != nil {
		return nil, err
	}
	if u.Username, err = args.String("username", ""); err != nil {
		return nil, err
	}
	if u.Password, err = args.String("password", ""); err != nil {
		return nil, err
	}
	switch mode {
	case "single":
		if url, err := args.String("url", ""); err != nil {
			return nil, err
		} else if url != "" {
			if _, set := args["host"]; set {
				return nil, fmt.Errorf("%w: redis takes url or host/port, not both", backend.ErrBadArgument)
			}
			parsed, err := goredis.ParseURL(url)
			if err != nil {
				return nil, fmt.Errorf("%w: redis url %q: %v", backend.ErrBadArgument, redact(url), err)
			}
			u.Addrs, u.DB, u.TLSConfig = []string{parsed.Addr}, parsed.DB, parsed.TLSConfig
			if u.Username == "" {
				u.Username = parsed.Username
			}
			if u.Password == "" {
				u.Password = parsed.Password
			}
			break
		}
		host, err := args.String("host", "localhost")
		if err != nil {
			return nil, err
		}
		port, err := args.Int("port", 6379)
		if err != nil {
			return nil, err
		}
		u.Addrs = []string{net.JoinHostPort(host, strconv.Itoa(port))}
		if u.DB, err = args.Int("db", 0); err != nil {
			return nil, err
		}
	case "sentinel":
		if u.Addrs, err = args.Strings("sentinels", nil); err != nil {
			return nil, err
		}
		if len(u.Addrs) == 0 {
			return nil, fmt.Errorf("%w: redis_sentinel needs sentinels (host:port list)", backend.ErrBadArgument)
		}
		if u.MasterName, err = args.String("service_name", "mymaster"); err != nil {
			return nil, err
		}
		if u.DB, err = args.Int("db", 0); err != nil {
			return nil, err
		}
		if u.SentinelPassword, err = args.String("sentinel_password", ""); err != nil {
			return nil, err
		}
	case "cluster":
		nodes, err := args.Strings("startup_nodes", nil)
		if err != nil {
			return nil, err
		}
		if url, err := args.String("url", ""); err != nil {
			return nil, err
		} else if url != "" {
			parsed, err := goredis.ParseClusterURL(url)
			if err != nil {
				return nil, fmt.Errorf("%w: redis_cluster url %q: %v", backend.ErrBadArgument, redact(url), err)
			}
			nodes = append(nodes, parsed.Addrs...)
			if u.Password == "" {
				u.Password = parsed.Password
			}
		}
		if len(nodes) == 0 {
			return nil, fmt.Errorf("%w: redis_cluster needs url or startup_nodes", backend.ErrBadArgument)
		}
		u.Addrs, u.IsClusterMode = nodes, true
	}
	o.Universal = u
	return New(o)
}
