package harness

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/dogpile-go/dogpile/internal/testenv"
)

// chosen is the choice Main made; read through Chosen.
var chosen struct {
	mu sync.Mutex
	c  Choice // guarded by mu; zero until Main chose
}

// Main chooses where the servers come from, prints the choice on standard
// error, and runs the tests under testenv.Main, which stops the servers
// started from local binaries and exits. Containers are removed by
// testcontainers' reaper when the test binary exits; those of one test
// when it ends. Call it from TestMain:
//
//	func TestMain(m *testing.M) { harness.Main(m) }
//
// An invalid [EnvServers], or containers forced where no engine answers,
// fails the whole binary, with or without CI.
func Main(m *testing.M) {
	c, err := Choose(context.Background(), os.Getenv(EnvServers), ProbeTimeout, ProbeContainerEngine)
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		os.Exit(2)
	}
	fmt.Fprintln(os.Stderr, c)
	chosen.mu.Lock()
	chosen.c = c
	chosen.mu.Unlock()
	testenv.Main(m)
}

// Chosen returns the choice Main made. It fails tb when Main did not run.
func Chosen(tb testing.TB) Choice {
	tb.Helper()
	chosen.mu.Lock()
	c := chosen.c
	chosen.mu.Unlock()
	if c.Servers == 0 {
		tb.Fatal("harness: this package's TestMain must call harness.Main; add\n\tfunc TestMain(m *testing.M) { harness.Main(m) }")
	}
	return c
}
