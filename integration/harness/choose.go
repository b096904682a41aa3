package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/testcontainers/testcontainers-go"
)

// Servers says where a test binary's servers come from.
type Servers uint8

const (
	// LocalBinaries: servers started by internal/testenv from the binaries
	// installed on this machine (or named by its environment variables).
	LocalBinaries Servers = iota + 1
	// Containers: servers started by testcontainers-go on a container
	// engine.
	Containers
)

func (s Servers) String() string {
	switch s {
	case LocalBinaries:
		return "local"
	case Containers:
		return "containers"
	}
	return fmt.Sprintf("Servers(%d)", uint8(s))
}

// EnvServers, when set, forces the choice: "local" or "containers"; empty or
// "auto" lets [Choose] probe. Forcing containers where no engine answers is
// an error, not a fallback.
const EnvServers = "DOGPILE_INTEGRATION_SERVERS"

// ProbeTimeout bounds how long [Main] waits for a container engine to answer.
const ProbeTimeout = 5 * time.Second

// A Probe says whether a container engine is reachable: its endpoint (as
// "docker at …" names it) and the host it publishes container ports on, or
// why it is not. It should honour ctx; [Choose] stops waiting for it when
// ctx ends either way.
type Probe func(ctx context.Context) (Engine, error)

// Engine is a container engine that answered a [Probe].
type Engine struct {
	// Endpoint is where the client reaches the engine, such as
	// unix:///var/run/docker.sock.
	Endpoint string
	// PublishHost is the host container ports are published on, such as
	// localhost.
	PublishHost string
}

// Choice is what [Choose] decided.
type Choice struct {
	Servers Servers
	// Engine is the container engine, with Containers.
	Engine Engine
	// Reason says why local binaries were chosen, with LocalBinaries.
	Reason string
}

// String is the line Main prints.
func (c Choice) String() string {
	if c.Servers == Containers {
		return fmt.Sprintf("integration: using testcontainers (docker at %s)", c.Engine.Endpoint)
	}
	return fmt.Sprintf("integration: using local server binaries (no container engine: %s)", c.Reason)
}

// canPinPorts reports whether containers publish their ports on this
// machine's loopback, where the harness can pick a free port to pin so that
// a restarted container keeps its address.
func (c Choice) canPinPorts() bool {
	switch h := c.Engine.PublishHost; h {
	case "localhost":
		return true
	default:
		ip := net.ParseIP(h)
		return ip != nil && ip.IsLoopback()
	}
}

var (
	// ErrBadServers reports an [EnvServers] value that is neither "local",
	// "containers", "auto" nor empty.
	ErrBadServers = errors.New("harness: invalid " + EnvServers)
	// ErrNoEngine reports that containers were asked for and no container
	// engine answered.
	ErrNoEngine = errors.New("harness: no container engine")
)

// Choose decides where the servers come from: force (the value of
// [EnvServers]) when it names one, else containers if probe answers within
// timeout, else local binaries with the reason.
func Choose(ctx context.Context, force string, timeout time.Duration, probe Probe) (Choice, error) {
	switch f := strings.ToLower(strings.TrimSpace(force)); f {
	case "local":
		return Choice{Servers: LocalBinaries, Reason: EnvServers + "=local"}, nil
	case "", "auto", "containers":
		e, err := probeWithin(ctx, timeout, probe)
		switch {
		case err == nil:
			return Choice{Servers: Containers, Engine: e}, nil
		case f == "containers":
			return Choice{}, fmt.Errorf("%w: %s=containers, but %v", ErrNoEngine, EnvServers, err)
		default:
			return Choice{Servers: LocalBinaries, Reason: err.Error()}, nil
		}
	default:
		return Choice{}, fmt.Errorf("%w: %q; want local, containers or auto", ErrBadServers, force)
	}
}

// probeWithin runs probe and gives up on it after timeout, even if it does
// not honour its context (a client stuck on a socket that never answers).
func probeWithin(ctx context.Context, timeout time.Duration, probe Probe) (Engine, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		e   Engine
		err error
	}
	ch := make(chan result, 1) // the probe never blocks on a send, even once abandoned
	go func() {
		defer func() {
			if p := recover(); p != nil {
				ch <- result{err: fmt.Errorf("probe panicked: %v", p)}
			}
		}()
		e, err := probe(ctx)
		ch <- result{e, err}
	}()
	select {
	case r := <-ch:
		if r.err == nil && r.e.Endpoint == "" {
			r.err = errors.New("the probe named no endpoint")
		}
		return r.e, r.err
	case <-ctx.Done():
		return Engine{}, fmt.Errorf("no answer within %v", timeout)
	}
}

// ProbeContainerEngine is the real [Probe]: it makes testcontainers'
// default provider (which finds the engine as testcontainers does:
// ~/.testcontainers.properties, DOCKER_HOST, the default and rootless
// sockets) and checks its health, the engine's info endpoint.
func ProbeContainerEngine(ctx context.Context) (Engine, error) {
	p, err := testcontainers.ProviderDefault.GetProvider()
	if err != nil {
		return Engine{}, fmt.Errorf("%s; testcontainers: %w", dockerHostHint(), firstLine(err))
	}
	defer p.Close()
	dp, ok := p.(*testcontainers.DockerProvider)
	if !ok {
		return Engine{}, fmt.Errorf("testcontainers gave a %T, not a Docker-compatible provider", p)
	}
	e := Engine{Endpoint: dp.Client().DaemonHost()}
	// Health first: finding the publish host may create the default
	// network when the tests run in a container. (Health "closes" the
	// client, which only drops its idle connections.)
	if err := p.Health(ctx); err != nil {
		return Engine{}, fmt.Errorf("docker at %s: %w", e.Endpoint, firstLine(err))
	}
	if e.PublishHost, err = dp.DaemonHost(ctx); err != nil {
		return Engine{}, fmt.Errorf("docker at %s: publish host: %w", e.Endpoint, firstLine(err))
	}
	return e, nil
}

// dockerHostHint says where a Docker client would look first, since
// testcontainers' own error names only the last place it tried.
func dockerHostHint() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return "DOCKER_HOST=" + h
	}
	if _, err := os.Stat("/var/run/docker.sock"); err != nil {
		return "DOCKER_HOST unset and no /var/run/docker.sock"
	}
	return "DOCKER_HOST unset, /var/run/docker.sock does not answer"
}

// firstLine keeps an error's first line: testcontainers joins one error per
// place it looked, which would make the choice's log line a page long.
func firstLine(err error) error {
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		return fmt.Errorf("%s (and more)", msg[:i])
	}
	return err
}
