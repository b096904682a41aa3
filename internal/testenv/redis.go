package testenv

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// RedisOptions configures a Redis server started by [NewRedis]. The zero
// value is a plain server: no memory limit, no password.
type RedisOptions struct {
	// MaxMemory is the maxmemory setting, such as "2mb"; empty means no limit.
	MaxMemory string

	// MaxMemoryPolicy is the maxmemory-policy, such as "allkeys-lru"; empty
	// means Redis's default, noeviction.
	MaxMemoryPolicy string

	// Password, when set, is required of every client (requirepass). Empty
	// means no authentication.
	Password string

	// Config holds further redis.conf lines, such as
	// "notify-keyspace-events KEA". Empty means none.
	Config []string
}

func (o RedisOptions) configLines() []string {
	var lines []string
	if o.MaxMemory != "" {
		lines = append(lines, "maxmemory "+o.MaxMemory)
	}
	if o.MaxMemoryPolicy != "" {
		lines = append(lines, "maxmemory-policy "+o.MaxMemoryPolicy)
	}
	if o.Password != "" {
		lines = append(lines, "requirepass "+strconv.Quote(o.Password))
	}
	return append(lines, o.Config...)
}

// Redis is a Redis server on a loopback port: one started by this package
// (with persistence off, so a restarted server comes back empty) or an
// external one named by [EnvRedisAddr]. Its methods are safe for concurrent
// use by multiple goroutines.
type Redis struct {
	server
	password string
}

// Password returns the password clients must give, or "".
func (r *Redis) Password() string { return r.password }

// URL returns the server as a redis:// URL for database 0, with the
// password when there is one, as go-redis's ParseURL reads it.
func (r *Redis) URL() string {
	u := url.URL{Scheme: "redis", Host: r.addr, Path: "/0"}
	if r.password != "" {
		u.User = url.UserPassword("", r.password)
	}
	return u.String()
}

// NewRedis starts a Redis server for tb alone, which tb may stop, kill and
// pause; it is removed when tb ends. A missing redis-server skips tb, or
// fails it when CI is set.
func NewRedis(tb testing.TB, opts RedisOptions) *Redis {
	tb.Helper()
	requireMain(tb)
	r, err := startRedisNode(redisNode{kind: "redis", newFunc: "NewRedis", password: opts.Password, config: opts.configLines()})
	if err != nil {
		skipOrFatal(tb, err)
	}
	tb.Cleanup(r.close)
	return r
}

// redisNode says how to start one redis-server process.
type redisNode struct {
	kind     string   // "redis", "redis-cluster-node", "redis-sentinel", …
	newFunc  string   // constructor to suggest in messages
	password string   // requirepass, and what readiness checks give
	config   []string // redis.conf lines beyond the common ones
	cluster  bool     // cluster-enabled: the bus port must be free too
	sentinel bool     // run as a Sentinel
}

func startRedisNode(n redisNode) (*Redis, error) {
	bin, err := lookBinary("redis-server")
	if err != nil {
		return nil, err
	}
	var extraArgs []string
	if n.sentinel {
		if p, err := lookBinary("redis-sentinel"); err == nil {
			bin = p
		} else {
			extraArgs = []string{"--sentinel"} // the same program
		}
	}
	dir, err := newDir(n.kind)
	if err != nil {
		return nil, err
	}
	proc, port, err := startWithPortRetry(n.cluster, func(port int) (*process, error) {
		addr := loopbackAddr(port)
		lines := []string{
			"bind 127.0.0.1",
			"port " + strconv.Itoa(port),
			"daemonize no",
			`logfile ""`,
			"dir " + strconv.Quote(dir),
		}
		if !n.sentinel {
			lines = append(lines, `save ""`, "appendonly no")
		}
		if n.cluster {
			// A node that failed to bind left a nodes.conf naming the old port.
			_ = os.Remove(filepath.Join(dir, "nodes.conf"))
			lines = append(lines, "cluster-enabled yes", "cluster-config-file nodes.conf")
		}
		lines = append(lines, n.config...)
		conf := filepath.Join(dir, n.kind+".conf")
		if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			return nil, fmt.Errorf("testenv: write %s: %w", conf, err)
		}
		return &process{
			name:     n.kind + " " + addr,
			path:     bin,
			args:     append([]string{conf}, extraArgs...),
			dir:      dir,
			logPath:  filepath.Join(dir, n.kind+".log"),
			stopSig:  syscall.SIGTERM,
			ready:    func(ctx context.Context) error { return redisPing(ctx, addr, n.password) },
			portBusy: addrInUse,
		}, nil
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return &Redis{
		server:   server{kind: n.kind, newFunc: n.newFunc, addr: loopbackAddr(port), proc: proc, dir: dir},
		password: n.password,
	}, nil
}

func redisPing(ctx context.Context, addr, password string) error {
	reply, err := redisString(ctx, addr, password, "PING")
	if err != nil {
		return err
	}
	if reply != "PONG" {
		return fmt.Errorf("PING answered %q", reply)
	}
	return nil
}

// close ends a server this package started and removes its files. It
// kills rather than stops: the data is thrown away anyway, and a kill takes
// a millisecond where a shutdown takes a tenth of a second.
func (r *Redis) close() {
	if r.proc != nil {
		r.proc.kill()
		_ = os.RemoveAll(r.dir)
	}
}

// externalRedis returns the server EnvRedisAddr names, or nil.
func externalRedis() (*Redis, error) {
	v := strings.TrimSpace(os.Getenv(EnvRedisAddr))
	if v == "" {
		return nil, nil
	}
	r := &Redis{server: server{kind: "redis", newFunc: "NewRedis", addr: v, extVar: EnvRedisAddr, shared: true}}
	if strings.Contains(v, "://") {
		u, err := url.Parse(v)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("testenv: %s=%q: want host:port or redis://[:password@]host:port", EnvRedisAddr, v)
		}
		r.addr = u.Host
		r.password, _ = u.User.Password()
	}
	return r, nil
}
