package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/internal/exampletest"
	"github.com/dogpile-go/dogpile/internal/testenv"
)

// asMainEnv makes the test binary run as the program itself (main), for
// TestServe; workerEnv makes it a worker, as the program's own workers
// are when run makes them from the test binary.
const asMainEnv = "DOGPILE_REDIS_EXAMPLE_AS_MAIN"

func TestMain(m *testing.M) {
	if name := os.Getenv(workerEnv); name != "" {
		os.Exit(workerMain(name))
	}
	if os.Getenv(asMainEnv) != "" {
		main()
		os.Exit(0)
	}
	testenv.Main(m)
}

// documentedOutput returns the output pasted in the package doc comment,
// normalized.
func documentedOutput(t *testing.T) []string {
	return normalize(exampletest.DocumentedOutput(t))
}

// loopbackPort matches the metrics' address, which differs from run to run.
var loopbackPort = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)

func normalize(lines []string) []string {
	out := make([]string, len(lines))
	for i, line := range lines {
		out[i] = loopbackPort.ReplaceAllString(line, "127.0.0.1:PORT")
	}
	return out
}

// runLines runs the example with the environment given and returns what
// it printed, line by line, normalized.
func runLines(t *testing.T, databaseURL, redisURL string) []string {
	t.Helper()
	t.Setenv("DATABASE_URL", databaseURL)
	t.Setenv("REDIS_URL", redisURL)
	return normalize(exampletest.Run(t, run))
}

// needRedisServer skips t when there is no redis-server on PATH, or fails
// it in CI (as testenv does).
func needRedisServer(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("redis-server is not on PATH (scripts/test-deps.sh installs it): %v", err)
		}
		t.Skipf("redis-server is not on PATH: %v", err)
	}
}

// TestDocumentedOutput runs the example on testenv's Redis (REDIS_URL)
// and SQLite, and checks that it prints what its doc comment says, but
// for the line that says where Redis is.
func TestDocumentedOutput(t *testing.T) {
	got, want := runLines(t, "", testenv.SharedRedis(t).URL()), documentedOutput(t)
	if got[0] != "redis: REDIS_URL" {
		t.Errorf("first line %q, want %q", got[0], "redis: REDIS_URL")
	}
	exampletest.Compare(t, got, want, 1)
}

// TestOwnRedisServer runs the example with REDIS_URL unset: it starts a
// redis-server of its own, and prints exactly what its doc comment says.
func TestOwnRedisServer(t *testing.T) {
	needRedisServer(t)
	exampletest.Compare(t, runLines(t, "", ""), documentedOutput(t), 0)
}

// TestPostgres runs the example on PostgreSQL and testenv's Redis.
func TestPostgres(t *testing.T) {
	got, want := runLines(t, testenv.PostgresDB(t), testenv.SharedRedis(t).URL()), documentedOutput(t)
	if got[1] != "database: PostgreSQL at DATABASE_URL" {
		t.Errorf("second line %q does not say PostgreSQL", got[1])
	}
	exampletest.Compare(t, got, want, 2)
}

// TestNoRedis checks that with neither REDIS_URL nor redis-server the
// example says what it needs, and fails.
func TestNoRedis(t *testing.T) {
	t.Setenv("REDIS_URL", "")
	t.Setenv("PATH", t.TempDir())
	var out bytes.Buffer
	err := run(&out)
	if !errors.Is(err, errNoRedis) {
		t.Fatalf("run = %v, want errNoRedis", err)
	}
	for _, want := range []string{"REDIS_URL", "redis-server"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error %q does not mention %s", err, want)
		}
	}
	if out.Len() != 0 {
		t.Errorf("printed %q before failing", out.String())
	}
}

// TestNoRedisExitCode checks that the program itself exits non-zero, with
// the message on its standard error.
func TestNoRedisExitCode(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), asMainEnv+"=1", "REDIS_URL=", "PATH="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1; stderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), errNoRedis.Error()) {
		t.Errorf("stderr %q does not say what it needs", stderr.String())
	}
}

// TestServe runs the program with -serve, fetches its /metrics as a user
// would (with curl when it is installed), checks the series are there,
// and stops it with an interrupt.
func TestServe(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-serve")
	cmd.Env = append(os.Environ(), asMainEnv+"=1", "REDIS_URL="+testenv.SharedRedis(t).URL(), "DATABASE_URL=")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	var printed bytes.Buffer
	url := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			printed.WriteString(sc.Text() + "\n")
			if rest, ok := strings.CutPrefix(sc.Text(), "serving "); ok {
				url <- strings.TrimSuffix(rest, " until interrupted")
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()
	var metricsURL string
	select {
	case metricsURL = <-url:
	case err := <-exited:
		t.Fatalf("the program exited before serving: %v\n%s", err, printed.String())
	case <-ctx.Done():
		<-exited // CommandContext kills it
		t.Fatalf("the program did not say it serves:\n%s", printed.String())
	}

	body := fetch(t, metricsURL)
	for _, series := range []string{
		`dogpile_region_hits_total{region="cachedsql:redis_example"} 2`,
		`dogpile_region_misses_total{region="cachedsql:redis_example"} 13`,
		`dogpile_region_creations_total{region="cachedsql:redis_example"} 4`,
		`dogpile_region_lock_waits_total{region="cachedsql:redis_example"} 9`,
		`dogpile_region_remote_lock_waits_total{region="cachedsql:redis_example"} 0`,
		`dogpile_region_creation_duration_seconds_count{region="cachedsql:redis_example",result="ok"} 4`,
		`dogpile_region_lock_wait_duration_seconds_count{region="cachedsql:redis_example"} 9`,
		`dogpile_region_backend_errors_total{region="cachedsql:redis_example"} 0`,
		`dogpile_region_decode_errors_total{region="cachedsql:redis_example"} 0`,
		`dogpile_pool_tasks_done_total{pool="cachedsql:redis_example"} `,
		`dogpile_invalidation_tags_held{tags="cachedsql:redis_example"} 0`,
		`# TYPE dogpile_region_hits_total counter`,
		`# TYPE dogpile_region_creation_duration_seconds histogram`,
	} {
		if !strings.Contains(body, "\n"+series) {
			t.Errorf("/metrics has no line %q", series)
		}
	}
	if t.Failed() {
		t.Logf("/metrics served:\n%s", body)
	}

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("after an interrupt the program exited with %v, want status 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("the program did not exit within 30s of an interrupt")
	}
}

// fetch returns the body served at url, fetched by a curl process when
// curl is installed, else by net/http.
func fetch(t *testing.T, url string) string {
	t.Helper()
	if curl, err := exec.LookPath("curl"); err == nil {
		out, err := exec.Command(curl, "--silent", "--show-error", "--fail", url).Output()
		if err != nil {
			t.Fatalf("curl %s: %v", url, err)
		}
		return string(out)
	}
	t.Logf("curl is not installed: fetching %s with net/http", url)
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %v %v", url, resp.Status, err)
	}
	return string(b)
}
