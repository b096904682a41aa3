package harness_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/integration/harness"
)

// The selection logic with fake probes: an engine that answers, one that
// refuses, one that never answers, one that panics, and the forced modes.
func TestChoose(t *testing.T) {
	engine := harness.Engine{Endpoint: "unix:///run/fake-docker.sock", PublishHost: "localhost"}
	reachable := func(context.Context) (harness.Engine, error) { return engine, nil }
	refused := func(context.Context) (harness.Engine, error) {
		return harness.Engine{}, errors.New("dial unix /var/run/docker.sock: connect: no such file or directory")
	}
	hangs := func(context.Context) (harness.Engine, error) { select {} } // ignores its context, as a stuck client would
	panics := func(context.Context) (harness.Engine, error) { panic("no provider") }
	nameless := func(context.Context) (harness.Engine, error) { return harness.Engine{}, nil }

	tests := []struct {
		name    string
		force   string
		probe   harness.Probe
		want    harness.Servers
		line    string // a part of Choice.String()
		wantErr error
		noProbe bool // the probe must not be called
	}{
		{name: "engine reachable", probe: reachable, want: harness.Containers, line: "integration: using testcontainers (docker at unix:///run/fake-docker.sock)"},
		{name: "auto, engine reachable", force: " AUTO ", probe: reachable, want: harness.Containers, line: "using testcontainers"},
		{name: "no engine", probe: refused, want: harness.LocalBinaries, line: "integration: using local server binaries (no container engine: dial unix /var/run/docker.sock"},
		{name: "engine does not answer", probe: hangs, want: harness.LocalBinaries, line: "(no container engine: no answer within 50ms)"},
		{name: "probe panics", probe: panics, want: harness.LocalBinaries, line: "probe panicked: no provider"},
		{name: "probe names no endpoint", probe: nameless, want: harness.LocalBinaries, line: "named no endpoint"},
		{name: "forced local", force: "local", probe: reachable, want: harness.LocalBinaries, line: "(no container engine: " + harness.EnvServers + "=local)", noProbe: true},
		{name: "forced containers, engine reachable", force: "containers", probe: reachable, want: harness.Containers, line: "docker at unix:///run/fake-docker.sock"},
		{name: "forced containers, no engine", force: "containers", probe: refused, wantErr: harness.ErrNoEngine},
		{name: "forced containers, engine does not answer", force: "containers", probe: hangs, wantErr: harness.ErrNoEngine},
		{name: "invalid value", force: "podman", probe: reachable, wantErr: harness.ErrBadServers, noProbe: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var called atomic.Bool
			probe := func(ctx context.Context) (harness.Engine, error) {
				called.Store(true)
				return tt.probe(ctx)
			}
			start := time.Now()
			c, err := harness.Choose(context.Background(), tt.force, 50*time.Millisecond, probe)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("Choose took %v; the timeout was 50ms", took)
			}
			if tt.noProbe && called.Load() {
				t.Error("the probe was called")
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Choose: %v, %v; want an error wrapping %v", c, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Choose: %v", err)
			}
			if c.Servers != tt.want {
				t.Errorf("Servers = %v, want %v (%s)", c.Servers, tt.want, c)
			}
			if !strings.Contains(c.String(), tt.line) {
				t.Errorf("String() = %q, want it to contain %q", c.String(), tt.line)
			}
		})
	}
}

func TestChoiceCanPinPorts(t *testing.T) {
	for _, tt := range []struct {
		host string
		want bool
	}{
		{"localhost", true},
		{"127.0.0.1", true},
		{"::1", true},
		{"172.17.0.1", false},
		{"docker.example", false},
		{"", false},
	} {
		c := harness.Choice{Servers: harness.Containers, Engine: harness.Engine{Endpoint: "x", PublishHost: tt.host}}
		if got := c.CanPinPorts(); got != tt.want {
			t.Errorf("PublishHost %q: CanPinPorts = %v, want %v", tt.host, got, tt.want)
		}
	}
}

// The real probe on this machine: whatever it finds, it answers within
// ProbeTimeout and its answer makes a sensible line.
func TestProbeContainerEngineHere(t *testing.T) {
	start := time.Now()
	c, err := harness.Choose(context.Background(), "", harness.ProbeTimeout, harness.ProbeContainerEngine)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > harness.ProbeTimeout+time.Second {
		t.Errorf("probing took %v, past ProbeTimeout (%v)", took, harness.ProbeTimeout)
	}
	t.Logf("%s (probed in %v)", c, time.Since(start).Round(time.Millisecond))
	if c.Servers == harness.LocalBinaries && c.Reason == "" {
		t.Error("local binaries chosen without a reason")
	}
}
