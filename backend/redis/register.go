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
		if *dst < 0 {
			return nil, fmt.Errorf("%w: %q is %v, must not be negative", backend.ErrBadArgument, name, *dst)
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
	// go-redis reads a negative timeout as "no deadline at all" (-1 and
	// -2 are its sentinels), so a negative socket_timeout would silently
	// let a stuck connection block a call for good.
	if u.ReadTimeout < 0 {
		return nil, fmt.Errorf("%w: \"socket_timeout\" is %v, must not be negative", backend.ErrBadArgument, u.ReadTimeout)
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
			for _, name := range []string{"host", "port", "db"} {
				if _, set := args[name]; set {
					return nil, fmt.Errorf("%w: redis takes url or host/port/db, not both (%q given with url)", backend.ErrBadArgument, name)
				}
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
			urlOptions(u, parsed)
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
		if port < 1 || port > 65535 {
			return nil, fmt.Errorf("%w: \"port\" is %d, not a TCP port", backend.ErrBadArgument, port)
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
			u.TLSConfig = parsed.TLSConfig
			if u.Username == "" {
				u.Username = parsed.Username
			}
			if u.Password == "" {
				u.Password = parsed.Password
			}
		}
		if len(nodes) == 0 {
			return nil, fmt.Errorf("%w: redis_cluster needs url or startup_nodes", backend.ErrBadArgument)
		}
		u.Addrs, u.IsClusterMode = nodes, true
	}
	if u.PoolSize < 0 { // go-redis panics on a negative pool size
		return nil, fmt.Errorf("%w: \"pool_size\" is %d, must not be negative", backend.ErrBadArgument, u.PoolSize)
	}
	o.Universal = u
	return New(o)
}

// urlOptions takes the settings a redis URL's query gives (read_timeout,
// pool_size, client_name, protocol…) into u where no argument set them.
func urlOptions(u *goredis.UniversalOptions, p *goredis.Options) {
	setIfZero(&u.ClientName, p.ClientName)
	setIfZero(&u.Protocol, p.Protocol)
	setIfZero(&u.MaxRetries, p.MaxRetries)
	setIfZero(&u.MinRetryBackoff, p.MinRetryBackoff)
	setIfZero(&u.MaxRetryBackoff, p.MaxRetryBackoff)
	setIfZero(&u.DialTimeout, p.DialTimeout)
	setIfZero(&u.ReadTimeout, p.ReadTimeout)
	setIfZero(&u.WriteTimeout, p.WriteTimeout)
	setIfZero(&u.PoolFIFO, p.PoolFIFO)
	setIfZero(&u.PoolSize, p.PoolSize)
	setIfZero(&u.PoolTimeout, p.PoolTimeout)
	setIfZero(&u.MinIdleConns, p.MinIdleConns)
	setIfZero(&u.MaxIdleConns, p.MaxIdleConns)
	setIfZero(&u.MaxActiveConns, p.MaxActiveConns)
	setIfZero(&u.ConnMaxIdleTime, p.ConnMaxIdleTime)
	setIfZero(&u.ConnMaxLifetime, p.ConnMaxLifetime)
}

func setIfZero[T comparable](dst *T, v T) {
	var zero T
	if *dst == zero {
		*dst = v
	}
}
