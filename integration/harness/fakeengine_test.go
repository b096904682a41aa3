package harness_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/integration/harness"
)

// envProbeChild makes this test binary probe, within the duration it
// holds, and print its choice: the real probe caches what it found for the
// life of the process (testcontainers finds the engine once), so each
// engine is probed by a process of its own.
const envProbeChild = "DOGPILE_HARNESS_PROBE_CHILD"

func TestMain(m *testing.M) {
	if v := os.Getenv(envProbeChild); v != "" {
		timeout, err := time.ParseDuration(v)
		if err != nil {
			os.Stdout.WriteString("error: " + err.Error() + "\n")
			os.Exit(1)
		}
		c, err := harness.Choose(context.Background(), "", timeout, harness.ProbeContainerEngine)
		if err != nil {
			os.Stdout.WriteString("error: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString(c.String() + "\n")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The real probe against a fake engine: an HTTP server on a Unix socket
// that answers the Docker API's ping and info, as a daemon would, and one
// that accepts connections and never answers.
func TestProbeContainerEngineFake(t *testing.T) {
	dir, err := os.MkdirTemp("", "fake-docker-") // short: a socket path is at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })

	answering := filepath.Join(dir, "docker.sock")
	serve(t, answering, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.47")
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/_ping"):
			_, _ = w.Write([]byte("OK"))
		case strings.HasSuffix(r.URL.Path, "/info"):
			_ = json.NewEncoder(w).Encode(map[string]any{"ID": "fake", "Name": "fake-engine", "OperatingSystem": "Fake Linux", "ServerVersion": "27.0.0"})
		default:
			http.NotFound(w, r)
		}
	}))
	silent := filepath.Join(dir, "silent.sock")
	l, err := net.Listen("unix", silent)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		var held []net.Conn // accepted and never answered
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()

	for _, tt := range []struct {
		name, socket, want string
	}{
		{"engine answers", answering, "integration: using testcontainers (docker at unix://" + answering + ")"},
		{"engine never answers", silent, "integration: using local server binaries (no container engine: no answer within 1s)"},
		{"no engine", filepath.Join(dir, "absent.sock"), "integration: using local server binaries (no container engine: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), envProbeChild+"=1s", "DOCKER_HOST=unix://"+tt.socket, "HOME="+t.TempDir(),
				"TESTCONTAINERS_HOST_OVERRIDE=", "TESTCONTAINERS_DOCKER_SOCKET_OVERRIDE=")
			out, err := cmd.Output()
			line := strings.TrimSpace(string(out))
			t.Logf("%s", line)
			if err != nil || !strings.HasPrefix(line, tt.want) {
				t.Fatalf("the probe printed %q (%v), want %q…", line, err, tt.want)
			}
		})
	}
}

func serve(t *testing.T, socket string, h http.Handler) {
	t.Helper()
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
}
