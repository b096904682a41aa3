package harness

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/testcontainers/testcontainers-go"
	tcredis "github.com/testcontainers/testcontainers-go/modules/redis"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/dogpile-go/dogpile/internal/testenv"
)

// Redis is a Redis server: a container, or a local server of testenv's.
// Neither keeps data across a restart.
type Redis struct {
	addr string // host:port
	url  string // redis://host:port/0, with the password if any
	ctr  *tcredis.RedisContainer
	ctrl control // nil for a shared server
}

// RedisOptions configure a server of [NewRedis]. The zero value is a plain
// server: no memory limit.
type RedisOptions struct {
	// MaxMemory is the maxmemory setting, such as "1mb"; empty means no
	// limit.
	MaxMemory string
	// MaxMemoryPolicy is the maxmemory-policy; empty means noeviction.
	MaxMemoryPolicy string
}

var sharedRedis sharedContainer[*Redis]

// SharedRedis returns the Redis server every test of the binary shares:
// tests keep to keys (namespaces) of their own, and may not flush or stop
// it.
func SharedRedis(tb testing.TB) *Redis {
	tb.Helper()
	if Chosen(tb).Servers == Containers {
		r, err := sharedRedis.get(func(ctx context.Context) (*Redis, error) {
			return startRedisContainer(ctx, RedisOptions{}, false)
		})
		if err == nil {
			return r
		}
		fallback(tb, "Redis", err)
	}
	s := testenv.SharedRedis(tb)
	return &Redis{addr: s.Addr(), url: s.URL()}
}

// NewRedis starts a Redis server for tb alone, which tb may stop, start and
// kill; it is removed when tb ends.
func NewRedis(tb testing.TB, o RedisOptions) *Redis {
	tb.Helper()
	if c := Chosen(tb); c.Servers == Containers {
		if !c.canPinPorts() {
			fallback(tb, "breakable Redis", fmt.Errorf("the engine publishes ports on %q, where the harness cannot pin them", c.Engine.PublishHost))
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), containerStartTimeout)
			defer cancel()
			r, err := startRedisContainer(ctx, o, true)
			if err == nil {
				testcontainers.CleanupContainer(tb, r.ctr)
				return r
			}
			fallback(tb, "breakable Redis", err)
		}
	}
	s := testenv.NewRedis(tb, testenv.RedisOptions{MaxMemory: o.MaxMemory, MaxMemoryPolicy: o.MaxMemoryPolicy})
	return &Redis{addr: s.Addr(), url: s.URL(), ctrl: s}
}

func startRedisContainer(ctx context.Context, o RedisOptions, breakable bool) (_ *Redis, err error) {
	// As testenv runs its servers: no persistence, so a restart is empty.
	cmd := []string{"redis-server", "--save", "", "--appendonly", "no"}
	if o.MaxMemory != "" {
		cmd = append(cmd, "--maxmemory", o.MaxMemory)
	}
	if o.MaxMemoryPolicy != "" {
		cmd = append(cmd, "--maxmemory-policy", o.MaxMemoryPolicy)
	}
	opts := []testcontainers.ContainerCustomizer{testcontainers.WithCmd(cmd...)}
	if breakable {
		pin, err := pinPort("6379/tcp")
		if err != nil {
			return nil, err
		}
		opts = append(opts, pin)
	}
	ctr, err := tcredis.Run(ctx, RedisImage, opts...)
	defer func() { terminateOnError(ctr, err) }()
	if err != nil {
		return nil, err
	}
	endpoint, err := ctr.ConnectionString(ctx) // redis://host:port
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	addr := u.Host
	if breakable {
		addr = pinnedAddr(addr)
	}
	r := &Redis{addr: addr, url: "redis://" + addr + "/0", ctr: ctr}
	if breakable {
		r.ctrl = containerControl{ctr: ctr, ready: r.ping}
	}
	return r, nil
}

func (r *Redis) ping(ctx context.Context) error {
	c := goredis.NewClient(&goredis.Options{Addr: r.addr})
	defer c.Close()
	return c.Ping(ctx).Err()
}

// Addr returns the server's host:port.
func (r *Redis) Addr() string { return r.addr }

// URL returns the server as a redis:// URL for database 0, as go-redis's
// ParseURL and backend/redis's Options.URL read it.
func (r *Redis) URL() string { return r.url }

// Stop shuts the server down and waits for it to exit.
func (r *Redis) Stop(tb testing.TB) {
	tb.Helper()
	r.control(tb).Stop(tb)
}

// Start starts a stopped or killed server again, empty, on the same address,
// and waits until it serves.
func (r *Redis) Start(tb testing.TB) {
	tb.Helper()
	r.control(tb).Start(tb)
}

// Kill stops the server as a crash would.
func (r *Redis) Kill(tb testing.TB) {
	tb.Helper()
	r.control(tb).Kill(tb)
}

func (r *Redis) control(tb testing.TB) control {
	tb.Helper()
	if r.ctrl == nil {
		noControl(tb, "Redis")
	}
	return r.ctrl
}

// SharedRedisCluster returns the addresses of the Redis Cluster every test
// of the binary shares (three masters), as go-redis's ClusterOptions.Addrs
// takes them. It always comes from local binaries, or from
// DOGPILE_TEST_REDIS_CLUSTER_ADDRS: the nodes of a cluster in containers
// announce addresses on the container network, which a client on the host
// cannot reach.
func SharedRedisCluster(tb testing.TB) []string {
	tb.Helper()
	Chosen(tb)
	return testenv.SharedRedisCluster(tb).Addrs()
}

// Memcached is a memcached server: a container, or a local server of
// testenv's. It keeps no data across a restart.
type Memcached struct {
	addr string
	ctr  testcontainers.Container
	ctrl control // nil for a shared server
}

var sharedMemcached sharedContainer[*Memcached]

// SharedMemcached returns the memcached server every test of the binary
// shares: tests keep to keys of their own, and may not stop it.
func SharedMemcached(tb testing.TB) *Memcached {
	tb.Helper()
	if Chosen(tb).Servers == Containers {
		m, err := sharedMemcached.get(func(ctx context.Context) (*Memcached, error) {
			return startMemcachedContainer(ctx, false)
		})
		if err == nil {
			return m
		}
		fallback(tb, "memcached", err)
	}
	return &Memcached{addr: testenv.SharedMemcached(tb).Addr()}
}

// NewMemcached starts a memcached server for tb alone, which tb may stop,
// start and kill; it is removed when tb ends.
func NewMemcached(tb testing.TB) *Memcached {
	tb.Helper()
	if c := Chosen(tb); c.Servers == Containers {
		if !c.canPinPorts() {
			fallback(tb, "breakable memcached", fmt.Errorf("the engine publishes ports on %q, where the harness cannot pin them", c.Engine.PublishHost))
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), containerStartTimeout)
			defer cancel()
			m, err := startMemcachedContainer(ctx, true)
			if err == nil {
				testcontainers.CleanupContainer(tb, m.ctr)
				return m
			}
			fallback(tb, "breakable memcached", err)
		}
	}
	s := testenv.NewMemcached(tb, testenv.MemcachedOptions{})
	return &Memcached{addr: s.Addr(), ctrl: s}
}

// startMemcachedContainer runs memcached in a generic container: there is no
// testcontainers module for it.
func startMemcachedContainer(ctx context.Context, breakable bool) (_ *Memcached, err error) {
	req := testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:        MemcachedImage,
			ExposedPorts: []string{"11211/tcp"},
			Cmd:          []string{"memcached", "-m", "64"},
			WaitingFor:   wait.ForListeningPort("11211/tcp").WithStartupTimeout(time.Minute),
		},
		Started: true,
	}
	if breakable {
		pin, err := pinPort("11211/tcp")
		if err != nil {
			return nil, err
		}
		if err := pin(&req); err != nil {
			return nil, err
		}
	}
	ctr, err := testcontainers.GenericContainer(ctx, req)
	defer func() { terminateOnError(ctr, err) }()
	if err != nil {
		return nil, err
	}
	endpoint, err := ctr.PortEndpoint(ctx, "11211/tcp", "")
	if err != nil {
		return nil, err
	}
	m := &Memcached{addr: endpoint, ctr: ctr}
	if breakable {
		m.addr = pinnedAddr(endpoint)
		m.ctrl = containerControl{ctr: ctr, ready: m.ping}
	}
	return m, nil
}

// ping asks the server its version, as a client's first call would.
func (m *Memcached) ping(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	if _, err := conn.Write([]byte("version\r\n")); err != nil {
		return err
	}
	buf := make([]byte, 64)
	n, err := conn.Read(buf)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(string(buf[:n]), "VERSION ") {
		return fmt.Errorf("memcached at %s answered %q to version", m.addr, buf[:n])
	}
	return nil
}

// Addr returns the server's host:port.
func (m *Memcached) Addr() string { return m.addr }

// Stop shuts the server down and waits for it to exit.
func (m *Memcached) Stop(tb testing.TB) {
	tb.Helper()
	m.control(tb).Stop(tb)
}

// Start starts a stopped or killed server again, empty, on the same address,
// and waits until it serves.
func (m *Memcached) Start(tb testing.TB) {
	tb.Helper()
	m.control(tb).Start(tb)
}

// Kill stops the server as a crash would.
func (m *Memcached) Kill(tb testing.TB) {
	tb.Helper()
	m.control(tb).Kill(tb)
}

func (m *Memcached) control(tb testing.TB) control {
	tb.Helper()
	if m.ctrl == nil {
		noControl(tb, "Memcached")
	}
	return m.ctrl
}
