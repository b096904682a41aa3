package testenv

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// clusterSlots is the number of hash slots of a Redis Cluster.
const clusterSlots = 16384

// RedisClusterOptions configures a cluster started by [NewRedisCluster].
// The zero value is three masters with a five-second node timeout.
type RedisClusterOptions struct {
	// NodeTimeout is cluster-node-timeout: how long a node may not answer
	// before the others mark it failing and the cluster stops serving.
	// Zero means 5s, short enough for a test to see a dead node, long enough
	// that a busy two-core machine does not fail a live one.
	NodeTimeout time.Duration

	// Password, when set, is required of clients by every node (requirepass
	// and masterauth). Empty means no authentication.
	Password string
}

// RedisCluster is a Redis Cluster of three masters, no replicas, on
// loopback ports, with the hash slots split evenly among them: one started
// by this package, or an external one named by [EnvRedisClusterAddrs].
// Its methods are safe for concurrent use by multiple goroutines.
type RedisCluster struct {
	nodes    []*Redis // nil when external
	addrs    []string
	password string
}

// Addrs returns the nodes' host:port addresses, as go-redis's
// ClusterOptions.Addrs takes them.
func (c *RedisCluster) Addrs() []string { return append([]string(nil), c.addrs...) }

// Password returns the password clients must give, or "".
func (c *RedisCluster) Password() string { return c.password }

// Nodes returns the three nodes, for fault injection (stop or kill one and
// the cluster loses a third of its slots; Start brings it back with its
// identity and slots). Nil for an external cluster.
func (c *RedisCluster) Nodes() []*Redis { return append([]*Redis(nil), c.nodes...) }

// WaitHealthy waits until every node reports cluster_state:ok and knows all
// the others, as after a node has been started again; it fails tb after
// [StartTimeout].
func (c *RedisCluster) WaitHealthy(tb testing.TB) {
	tb.Helper()
	if err := waitClusterOK(c.addrs, c.password); err != nil {
		tb.Fatal(err)
	}
}

// NewRedisCluster starts a Redis Cluster for tb alone, which tb may break by
// stopping, killing or pausing [RedisCluster.Nodes]; it is removed when tb
// ends. A missing redis-server skips tb, or fails it when CI is set.
func NewRedisCluster(tb testing.TB, opts RedisClusterOptions) *RedisCluster {
	tb.Helper()
	requireMain(tb)
	c, err := startRedisCluster(opts, "NewRedisCluster")
	if err != nil {
		skipOrFatal(tb, err)
	}
	tb.Cleanup(c.close)
	return c
}

func startRedisCluster(opts RedisClusterOptions, newFunc string) (*RedisCluster, error) {
	timeout := opts.NodeTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	// The nodes start with a short node timeout, raised once the cluster is
	// up: a master that has seen itself in a minority (as each does while
	// the others are still shaking hands) waits up to the node timeout
	// before it reports cluster_state:ok, which would add seconds.
	config := []string{"cluster-node-timeout 500"}
	if opts.Password != "" {
		config = append(config, "requirepass "+strconv.Quote(opts.Password), "masterauth "+strconv.Quote(opts.Password))
	}
	const n = 3
	c := &RedisCluster{nodes: make([]*Redis, n), addrs: make([]string, n), password: opts.Password}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c.nodes[i], errs[i] = startRedisNode(redisNode{
				kind: "redis-cluster-node", newFunc: newFunc, password: opts.Password,
				config: config, cluster: true,
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			c.close()
			return nil, err
		}
		c.addrs[i] = c.nodes[i].addr
	}
	if err := c.create(); err != nil {
		c.close()
		return nil, err
	}
	if err := c.setNodeTimeout(timeout); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// create joins the nodes into one cluster as `redis-cli --cluster create`
// does, minus its one-second polls: distinct config epochs (so no epoch
// collision has to be resolved), a third of the slots each, then MEET.
func (c *RedisCluster) create() error {
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	for i, addr := range c.addrs {
		if _, err := redisDo(ctx, addr, c.password, "CLUSTER", "SET-CONFIG-EPOCH", strconv.Itoa(i+1)); err != nil {
			return fmt.Errorf("%w: redis cluster: CLUSTER SET-CONFIG-EPOCH on %s: %v", ErrStartFailed, addr, err)
		}
		lo, hi := i*clusterSlots/len(c.addrs), (i+1)*clusterSlots/len(c.addrs)
		args := []string{"CLUSTER", "ADDSLOTS"}
		for s := lo; s < hi; s++ {
			args = append(args, strconv.Itoa(s))
		}
		if _, err := redisDo(ctx, addr, c.password, args...); err != nil {
			return fmt.Errorf("%w: redis cluster: CLUSTER ADDSLOTS %d..%d on %s: %v", ErrStartFailed, lo, hi-1, addr, err)
		}
	}
	for _, addr := range c.addrs[1:] {
		host, port, _ := strings.Cut(addr, ":")
		if _, err := redisDo(ctx, c.addrs[0], c.password, "CLUSTER", "MEET", host, port); err != nil {
			return fmt.Errorf("%w: redis cluster: CLUSTER MEET %s from %s: %v", ErrStartFailed, addr, c.addrs[0], err)
		}
	}
	return waitClusterOK(c.addrs, c.password)
}

// setNodeTimeout sets cluster-node-timeout on every node and rewrites their
// config files with it, so that a node started again keeps it.
func (c *RedisCluster) setNodeTimeout(d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	ms := strconv.FormatInt(d.Milliseconds(), 10)
	for _, addr := range c.addrs {
		if _, err := redisDo(ctx, addr, c.password, "CONFIG", "SET", "cluster-node-timeout", ms); err != nil {
			return fmt.Errorf("%w: redis cluster: set cluster-node-timeout %s on %s: %v", ErrStartFailed, ms, addr, err)
		}
		if _, err := redisDo(ctx, addr, c.password, "CONFIG", "REWRITE"); err != nil {
			return fmt.Errorf("%w: redis cluster: CONFIG REWRITE on %s: %v", ErrStartFailed, addr, err)
		}
	}
	return nil
}

// waitClusterOK waits until every node reports cluster_state:ok with all
// slots assigned and every node known.
func waitClusterOK(addrs []string, password string) error {
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	want := strconv.Itoa(len(addrs))
	var last string
	for {
		ok := true
		for _, addr := range addrs {
			info, err := redisString(ctx, addr, password, "CLUSTER", "INFO")
			switch {
			case err != nil:
				last = fmt.Sprintf("%s: %v", addr, err)
			case infoField(info, "cluster_state") != "ok":
				last = fmt.Sprintf("%s: cluster_state:%s", addr, infoField(info, "cluster_state"))
			case infoField(info, "cluster_known_nodes") != want:
				last = fmt.Sprintf("%s: cluster_known_nodes:%s, want %s", addr, infoField(info, "cluster_known_nodes"), want)
			case infoField(info, "cluster_slots_ok") != strconv.Itoa(clusterSlots):
				last = fmt.Sprintf("%s: cluster_slots_ok:%s", addr, infoField(info, "cluster_slots_ok"))
			default:
				continue
			}
			ok = false
			break
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: redis cluster %s not healthy after %v: %s",
				ErrStartFailed, strings.Join(addrs, ","), StartTimeout, last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (c *RedisCluster) close() {
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		if n != nil {
			wg.Go(n.close)
		}
	}
	wg.Wait()
}

// externalRedisCluster returns the cluster EnvRedisClusterAddrs names, or nil.
func externalRedisCluster() *RedisCluster {
	addrs := envList(EnvRedisClusterAddrs)
	if len(addrs) == 0 {
		return nil
	}
	return &RedisCluster{addrs: addrs}
}
