package consistency_test

import (
	"flag"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/dogpile-go/dogpile/internal/testenv"
)

// How long the history tests run: defaultDuration, which keeps the package
// to about half a minute under make test (go test -race ./... on two
// cores); -consistency.long for the full 30 s run; -consistency.duration
// for any other. DOGPILE_CONSISTENCY_DURATION, when set, overrides them all
// (flags given to go test ./... reach every package, and the others do not
// know these).
var (
	longRun     = flag.Bool("consistency.long", false, "run the history tests for 30s")
	runDuration = flag.Duration("consistency.duration", defaultDuration, "how long the history tests run (without -consistency.long)")
)

const (
	envDuration     = "DOGPILE_CONSISTENCY_DURATION"
	defaultDuration = 10 * time.Second
	longDuration    = 30 * time.Second
)

// historyDuration returns how long a history test runs.
func historyDuration(t *testing.T) time.Duration {
	t.Helper()
	if s := os.Getenv(envDuration); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			t.Fatalf("%s=%q: want a positive duration such as 30s", envDuration, s)
		}
		return d
	}
	if *longRun {
		return longDuration
	}
	return *runDuration
}

func TestMain(m *testing.M) {
	if os.Getenv(envWorker) != "" {
		os.Exit(runWorker())
	}
	testenv.Main(m)
}
