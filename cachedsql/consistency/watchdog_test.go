package consistency_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// stuckAfter is how long past its end a load may take to stop before it
// is declared stuck: its last operations have then waited a minute.
const stuckAfter = time.Minute

// runWatched runs l on h and returns its history, or fails t if the load
// does not stop in time: a deadlock in the code under test would otherwise
// hang the test binary until go test's timeout, with nothing said.
func runWatched(t *testing.T, l load, h *handle) *History {
	t.Helper()
	done := make(chan *History, 1)
	go func() { done <- l.run(context.Background(), h) }()
	select {
	case hist := <-done:
		return hist
	case <-time.After(l.Duration + stuckAfter):
	}
	h.stuck.Store(true)
	dump := goroutines()
	path := filepath.Join(t.ArtifactDir(), "goroutines.txt")
	if err := os.WriteFile(path, dump, 0o644); err != nil {
		path = "(not saved: " + err.Error() + ")"
	}
	t.Fatalf("the load did not stop %v after its end: its goroutines are stuck. All stacks: %s. Those in the tag protocol or waiting for a creation lock:\n%s",
		stuckAfter, path, stuckSummary(dump))
	return nil
}

// goroutines returns every goroutine's stack.
func goroutines() []byte {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return buf[:n]
		}
		buf = make([]byte, 2*len(buf))
	}
}

// stuckSummary returns, for the goroutines that are in the tag protocol
// (package invalidation) or wait for a Redis creation lock (which another
// process, stuck, may hold and keep renewing), their state and their
// dogpile frames.
func stuckSummary(dump []byte) string {
	var b strings.Builder
	n := 0
	for _, g := range strings.Split(string(dump), "\n\n") {
		if !strings.Contains(g, "dogpile/invalidation.") && !strings.Contains(g, "dogpile/backend/redis.(*mutex).Lock") {
			continue
		}
		if n++; n > 12 {
			fmt.Fprintf(&b, "…\n")
			break
		}
		lines := strings.Split(g, "\n")
		b.WriteString(lines[0] + "\n")
		for i := 1; i+1 < len(lines); i++ {
			if strings.HasPrefix(lines[i], "github.com/dogpile-go/dogpile/") {
				fmt.Fprintf(&b, "    %s\n        %s\n", lines[i], strings.TrimSpace(lines[i+1]))
			}
		}
	}
	return b.String()
}
