package harness

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"

	"github.com/dogpile-go/dogpile/internal/testenv"
)

// The images of the container path: small, and of the major versions the
// local path is tested with.
const (
	PostgresImage  = "postgres:17-alpine"
	RedisImage     = "redis:7-alpine"
	MemcachedImage = "memcached:1.6-alpine"
)

// containerStartTimeout bounds one container's start, the image pull
// included.
const containerStartTimeout = 3 * time.Minute

// readyTimeout bounds how long a restarted server may take to answer.
const readyTimeout = time.Minute

// pinPort returns a customizer that publishes containerPort ("5432/tcp") on
// a port of 127.0.0.1 that is free now, so that the container keeps its
// address across Stop and Start (the engine would otherwise pick a new
// one). Another process could take the port between the check and the
// container's start; the start then fails and the harness falls back to
// local binaries.
func pinPort(containerPort string) (testcontainers.CustomizeRequestOption, error) {
	p, err := network.ParsePort(containerPort)
	if err != nil {
		return nil, err
	}
	// Outside the ephemeral range, where an outgoing connection could take
	// the port while the container is stopped.
	port, err := testenv.FreePort()
	if err != nil {
		return nil, fmt.Errorf("harness: find a free port: %w", err)
	}
	hostPort := strconv.Itoa(port)
	loopback := netip.MustParseAddr("127.0.0.1")
	return testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
		if hc.PortBindings == nil {
			hc.PortBindings = network.PortMap{}
		}
		hc.PortBindings[p] = []network.PortBinding{{HostIP: loopback, HostPort: hostPort}}
	}), nil
}

// pinnedAddr rewrites the host of a pinned container's host:port, which
// testcontainers names "localhost", to the address the port is pinned on:
// a client that resolved localhost to ::1 would find nothing there.
func pinnedAddr(hostPort string) string {
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil || host != "localhost" {
		return hostPort
	}
	return net.JoinHostPort("127.0.0.1", port)
}

// control is the fault injection a server of one test offers: testenv's
// servers have these methods; containers get them from containerControl.
type control interface {
	Stop(tb testing.TB)
	Start(tb testing.TB)
	Kill(tb testing.TB)
}

// containerControl stops and starts a container whose ports are pinned,
// and waits for its server to answer again.
type containerControl struct {
	ctr   testcontainers.Container
	ready func(ctx context.Context) error
}

func (c containerControl) Stop(tb testing.TB) {
	tb.Helper()
	c.stop(tb, 10*time.Second)
}

// Kill stops the container with no grace period: the engine sends SIGKILL
// right after SIGTERM, which the servers have no time to act on.
func (c containerControl) Kill(tb testing.TB) {
	tb.Helper()
	c.stop(tb, 0)
}

func (c containerControl) stop(tb testing.TB, grace time.Duration) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), grace+30*time.Second)
	defer cancel()
	if err := c.ctr.Stop(ctx, &grace); err != nil {
		tb.Fatalf("harness: stop container %s: %v", c.ctr.GetContainerID(), err)
	}
}

func (c containerControl) Start(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), containerStartTimeout)
	defer cancel()
	if err := c.ctr.Start(ctx); err != nil {
		tb.Fatalf("harness: start container %s: %v", c.ctr.GetContainerID(), err)
	}
	waitReady(tb, c.ready)
}

// waitReady polls ready until it succeeds, failing tb after readyTimeout.
func waitReady(tb testing.TB, ready func(ctx context.Context) error) {
	tb.Helper()
	deadline := time.Now().Add(readyTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := ready(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("harness: server not ready after %v: %v", readyTimeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sharedContainer is one container that every test of the binary uses,
// started by the first test that asks. A failed start is remembered, so
// later tests fall back to local binaries at once instead of trying again.
type sharedContainer[T any] struct {
	once sync.Once
	v    T
	err  error
}

func (s *sharedContainer[T]) get(start func(ctx context.Context) (T, error)) (T, error) {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), containerStartTimeout)
		defer cancel()
		s.v, s.err = start(ctx)
	})
	return s.v, s.err
}

// terminateOnError removes a container whose start failed half way (a
// module's Run returns the container with the error when it was created
// but did not become ready).
func terminateOnError(ctr testcontainers.Container, err error) {
	if err != nil && ctr != nil {
		_ = testcontainers.TerminateContainer(ctr)
	}
}

// fallback logs why a container could not be had, before the server comes
// from local binaries instead (which skip, or fail under CI, when missing).
func fallback(tb testing.TB, what string, err error) {
	tb.Helper()
	tb.Logf("harness: %s container unavailable (%v); using local server binaries", what, err)
}

// noControl fails tb: a shared server cannot be broken.
func noControl(tb testing.TB, what string) {
	tb.Helper()
	tb.Fatalf("harness: the shared %s cannot be stopped or killed: use New%s for a server of the test's own", what, what)
}
