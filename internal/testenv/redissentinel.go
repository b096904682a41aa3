package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// RedisSentinelOptions configures a deployment started by
// [NewRedisSentinel]. The zero value is a master named "mymaster", one
// replica and three sentinels with a quorum of two.
type RedisSentinelOptions struct {
	// MasterName is the name the sentinels monitor the master under.
	// Empty means "mymaster".
	MasterName string

	// Sentinels is how many sentinels to start; zero means 3. The quorum
	// is a majority of them.
	Sentinels int

	// DownAfter is down-after-milliseconds: how long the master may not
	// answer before a sentinel thinks it down. Zero means 2s.
	DownAfter time.Duration

	// FailoverTimeout is the sentinels' failover-timeout. Zero means 10s.
	FailoverTimeout time.Duration

	// Password, when set, is required of clients by the master and the
	// replica (sentinels themselves take none). Empty means none.
	Password string
}

// RedisSentinel is a Redis master with one replica, monitored by sentinels,
// on loopback ports: one started by this package, or an external one named
// by [EnvRedisSentinelAddrs] and [EnvRedisSentinelMaster]. Its methods are
// safe for concurrent use by multiple goroutines.
type RedisSentinel struct {
	masterName string
	addrs      []string
	password   string
	master     *Redis   // nil when external
	replica    *Redis   // nil when external
	sentinels  []*Redis // nil when external
}

// SentinelAddrs returns the sentinels' host:port addresses, as go-redis's
// FailoverOptions.SentinelAddrs takes them.
func (s *RedisSentinel) SentinelAddrs() []string { return append([]string(nil), s.addrs...) }

// MasterName returns the name the sentinels monitor the master under.
func (s *RedisSentinel) MasterName() string { return s.masterName }

// Password returns the password the master and replica require, or "".
func (s *RedisSentinel) Password() string { return s.password }

// Master returns the server started as master. After a failover it may be
// a replica: ask [RedisSentinel.MasterAddr] who is master now. Nil for an
// external deployment.
func (s *RedisSentinel) Master() *Redis { return s.master }

// Replica returns the server started as the master's replica. Nil for an
// external deployment.
func (s *RedisSentinel) Replica() *Redis { return s.replica }

// Sentinels returns the sentinel servers. Nil for an external deployment.
func (s *RedisSentinel) Sentinels() []*Redis { return append([]*Redis(nil), s.sentinels...) }

// MasterAddr returns the master's host:port as the first sentinel that
// answers reports it now; it fails tb when none answers.
func (s *RedisSentinel) MasterAddr(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []string
	for _, addr := range s.addrs {
		a, err := sentinelMasterAddr(ctx, addr, s.masterName)
		if err == nil {
			return a
		}
		errs = append(errs, fmt.Sprintf("%s: %v", addr, err))
	}
	tb.Fatalf("testenv: no sentinel reports master %q: %s", s.masterName, strings.Join(errs, "; "))
	return ""
}

// NewRedisSentinel starts a master, a replica and sentinels for tb alone,
// which tb may stop, kill or pause (kill the master and the sentinels fail
// over to the replica); they are removed when tb ends. A missing
// redis-server skips tb, or fails it when CI is set.
func NewRedisSentinel(tb testing.TB, opts RedisSentinelOptions) *RedisSentinel {
	tb.Helper()
	requireMain(tb)
	s, err := startRedisSentinel(opts, "NewRedisSentinel")
	if err != nil {
		skipOrFatal(tb, err)
	}
	tb.Cleanup(s.close)
	return s
}

func startRedisSentinel(opts RedisSentinelOptions, newFunc string) (*RedisSentinel, error) {
	if opts.MasterName == "" {
		opts.MasterName = "mymaster"
	}
	if opts.Sentinels <= 0 {
		opts.Sentinels = 3
	}
	if opts.DownAfter <= 0 {
		opts.DownAfter = 2 * time.Second
	}
	if opts.FailoverTimeout <= 0 {
		opts.FailoverTimeout = 10 * time.Second
	}
	s := &RedisSentinel{masterName: opts.MasterName, password: opts.Password}
	// Both the master and the replica may be master after a failover, so
	// both get the master's settings. Without a delay the master starts a
	// full sync at once instead of waiting 5s for more replicas to ask.
	auth := []string{"repl-diskless-sync-delay 0"}
	if opts.Password != "" {
		auth = append(auth, "requirepass "+strconv.Quote(opts.Password), "masterauth "+strconv.Quote(opts.Password))
	}
	var err error
	s.master, err = startRedisNode(redisNode{kind: "redis-sentinel-master", newFunc: newFunc, password: opts.Password, config: auth})
	if err != nil {
		return nil, err
	}
	mhost, mport, _ := net.SplitHostPort(s.master.addr)
	s.replica, err = startRedisNode(redisNode{
		kind: "redis-sentinel-replica", newFunc: newFunc, password: opts.Password,
		config: append([]string{"replicaof " + mhost + " " + mport}, auth...),
	})
	if err != nil {
		s.close()
		return nil, err
	}

	name := opts.MasterName
	config := []string{
		fmt.Sprintf("sentinel monitor %s %s %s %d", name, mhost, mport, opts.Sentinels/2+1),
		fmt.Sprintf("sentinel down-after-milliseconds %s %d", name, opts.DownAfter.Milliseconds()),
		fmt.Sprintf("sentinel failover-timeout %s %d", name, opts.FailoverTimeout.Milliseconds()),
		fmt.Sprintf("sentinel parallel-syncs %s 1", name),
	}
	if opts.Password != "" {
		config = append(config, fmt.Sprintf("sentinel auth-pass %s %s", name, strconv.Quote(opts.Password)))
	}
	s.sentinels = make([]*Redis, opts.Sentinels)
	errs := make([]error, opts.Sentinels)
	var wg sync.WaitGroup
	for i := range s.sentinels {
		wg.Go(func() {
			s.sentinels[i], errs[i] = startRedisNode(redisNode{
				kind: "redis-sentinel", newFunc: newFunc, config: config, sentinel: true,
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			s.close()
			return nil, err
		}
		s.addrs = append(s.addrs, s.sentinels[i].addr)
	}
	if err := s.waitSettled(); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// waitSettled waits until the replica has synced and every sentinel knows
// the master as up, the replica and all the other sentinels: only then can
// they agree on a failover, which a test may be about to cause.
func (s *RedisSentinel) waitSettled() error {
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	var last string
	check := func() bool {
		info, err := redisString(ctx, s.replica.addr, s.password, "INFO", "replication")
		if err != nil {
			last = fmt.Sprintf("replica %s: %v", s.replica.addr, err)
			return false
		}
		if st := infoField(info, "master_link_status"); st != "up" {
			last = fmt.Sprintf("replica %s: master_link_status:%s", s.replica.addr, st)
			return false
		}
		for _, addr := range s.addrs {
			m, err := sentinelMaster(ctx, addr, s.masterName)
			if err != nil {
				last = fmt.Sprintf("sentinel %s: %v", addr, err)
				return false
			}
			switch {
			case m["flags"] != "master":
				last = fmt.Sprintf("sentinel %s: master flags %q", addr, m["flags"])
			case m["num-slaves"] != "1":
				last = fmt.Sprintf("sentinel %s: knows %s replicas, want 1", addr, m["num-slaves"])
			case m["num-other-sentinels"] != strconv.Itoa(len(s.addrs)-1):
				last = fmt.Sprintf("sentinel %s: knows %s other sentinels, want %d", addr, m["num-other-sentinels"], len(s.addrs)-1)
			default:
				continue
			}
			return false
		}
		return true
	}
	for !check() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: redis sentinel deployment not settled after %v: %s", ErrStartFailed, StartTimeout, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// sentinelMaster returns SENTINEL MASTER name as a map.
func sentinelMaster(ctx context.Context, addr, name string) (map[string]string, error) {
	reply, err := redisDo(ctx, addr, "", "SENTINEL", "MASTER", name)
	if err != nil {
		return nil, err
	}
	items, ok := reply.([]any)
	if !ok {
		return nil, fmt.Errorf("SENTINEL MASTER: reply %v (%T), want an array", reply, reply)
	}
	m := make(map[string]string, len(items)/2)
	for i := 0; i+1 < len(items); i += 2 {
		k, _ := items[i].(string)
		v, _ := items[i+1].(string)
		m[k] = v
	}
	return m, nil
}

func sentinelMasterAddr(ctx context.Context, addr, name string) (string, error) {
	reply, err := redisDo(ctx, addr, "", "SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)
	if err != nil {
		return "", err
	}
	items, ok := reply.([]any)
	if !ok || len(items) != 2 {
		return "", fmt.Errorf("does not know master %q (reply %v)", name, reply)
	}
	host, _ := items[0].(string)
	port, _ := items[1].(string)
	return net.JoinHostPort(host, port), nil
}

func (s *RedisSentinel) close() {
	var wg sync.WaitGroup
	for _, r := range append([]*Redis{s.master, s.replica}, s.sentinels...) {
		if r != nil {
			wg.Go(r.close)
		}
	}
	wg.Wait()
}

// externalRedisSentinel returns the deployment EnvRedisSentinelAddrs names,
// or nil.
func externalRedisSentinel() (*RedisSentinel, error) {
	addrs := envList(EnvRedisSentinelAddrs)
	if len(addrs) == 0 {
		return nil, nil
	}
	name := strings.TrimSpace(os.Getenv(EnvRedisSentinelMaster))
	if name == "" {
		return nil, fmt.Errorf("testenv: %s is set but %s is not: name the master the sentinels monitor",
			EnvRedisSentinelAddrs, EnvRedisSentinelMaster)
	}
	return &RedisSentinel{masterName: name, addrs: addrs}, nil
}
