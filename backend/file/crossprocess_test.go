package file_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend/file"
	"github.com/dogpile-go/dogpile/clock"
	"github.com/dogpile-go/dogpile/region"
)

const (
	processes  = 4
	goroutines = 16
)

// runRegionHelpers starts the region helpers on the store at path, lets
// them loose at once, and returns every caller's result and the creator
// runs recorded in the runs file.
func runRegionHelpers(t *testing.T, path, key string) (results []string, runs []string) {
	t.Helper()
	runsFile := filepath.Join(t.TempDir(), "runs")
	hs := make([]*helper, processes)
	for i := range hs {
		hs[i] = startHelper(t, "region",
			envPath+"="+path, envKey+"="+key, envRuns+"="+runsFile, fmt.Sprint(envGoroutines, "=", goroutines))
	}
	// Every process is ready (store open, region configured) before any
	// starts, so that all of them ask while the key needs creating.
	for _, h := range hs {
		h.expect(t, "ready")
	}
	for _, h := range hs {
		h.send(t, "go")
	}
	for _, h := range hs {
		for {
			line, ok := h.line(t)
			if !ok {
				t.Fatalf("helper %d ended before saying done", h.cmd.Process.Pid)
			}
			if line == "done" {
				break
			}
			if v, isResult := strings.CutPrefix(line, "result "); isResult {
				results = append(results, v)
			} else {
				t.Errorf("helper %d: %s", h.cmd.Process.Pid, line)
			}
		}
		if err := h.cmd.Wait(); err != nil {
			t.Errorf("helper %d: %v", h.cmd.Process.Pid, err)
		}
	}
	data, err := os.ReadFile(runsFile)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	runs = strings.Fields(string(data))
	if len(results) != processes*goroutines {
		t.Fatalf("%d results from %d processes × %d callers", len(results), processes, goroutines)
	}
	return results, runs
}

// A missing key asked for at once by many goroutines in several processes
// is created exactly once, and every caller gets that creation's value.
func TestCrossProcessMissingKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache.db")
	newStore(t, file.Options{Filename: path}) // create the file
	results, runs := runRegionHelpers(t, path, "report:2024")
	if len(runs) != 1 {
		t.Fatalf("creator ran %d times (by processes %v), want once across %d processes", len(runs), runs, processes)
	}
	want := "new-" + runs[0]
	for i, v := range results {
		if v != want {
			t.Errorf("caller %d got %q, want the one creation's %q", i, v, want)
		}
	}
}

// A stale key asked for at once by many goroutines in several processes is
// created again exactly once; every other caller gets the stale value at
// once.
func TestCrossProcessStaleKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache.db")
	s := newStore(t, file.Options{Filename: path})
	// Written two hours ago, by the region's clock: stale for the helpers'
	// one-hour expiration.
	old := region.New("cross-process", region.WithClock(clock.NewManual(time.Now().Add(-2*time.Hour))))
	if err := old.Configure(region.Config{Backend: s}); err != nil {
		t.Fatal(err)
	}
	if err := region.Set(context.Background(), old, "report:2024", "stale"); err != nil {
		t.Fatal(err)
	}
	results, runs := runRegionHelpers(t, path, "report:2024")
	if len(runs) != 1 {
		t.Fatalf("creator ran %d times (by processes %v), want once across %d processes", len(runs), runs, processes)
	}
	var fresh, stale int
	for i, v := range results {
		switch v {
		case "new-" + runs[0]:
			fresh++
		case "stale":
			stale++
		default:
			t.Errorf("caller %d got %q, want %q or the stale value", i, v, "new-"+runs[0])
		}
	}
	if fresh != 1 || stale != len(results)-1 {
		t.Errorf("%d callers got the new value and %d the stale one, want 1 and %d", fresh, stale, len(results)-1)
	}
	// The new value is in the file for everyone after.
	v, ok, err := region.Get[string](context.Background(), old, "report:2024", region.IgnoreExpiration())
	if err != nil || !ok || v != "new-"+runs[0] {
		t.Errorf("after the run the store holds %q (%v, %v), want %q", v, ok, err, "new-"+runs[0])
	}
}

// A holder whose process is killed frees the lock at once: the kernel drops
// its flock.
func TestLockHolderKilled(t *testing.T) {
	s := newStore(t, file.Options{})
	h := startHelper(t, "hold-lock", envPath+"="+s.Path(), envKey+"=k")
	h.expect(t, "locked")
	m := s.Mutex("k")
	mustTryLock(t, m, false)
	if locked, err := s.Locked(ctxBg, "k"); !locked || err != nil {
		t.Fatalf("Locked while the helper holds the lock = %v, %v; want true", locked, err)
	}
	if err := h.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = h.cmd.Wait()
	mustTryLock(t, m, true)
	if err := m.Unlock(ctxBg); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.LockPath("k")); !os.IsNotExist(err) {
		t.Errorf("lock file left after release: %v", err)
	}
}
