package file_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend/file"
)

// helperEnv, when set, makes the test binary a helper process (see
// TestMain) instead of running tests: the usual way for a Go test to have
// other OS processes run its code.
const helperEnv = "DOGPILE_FILE_TEST_HELPER"

func TestMain(m *testing.M) {
	switch h := os.Getenv(helperEnv); h {
	case "":
		os.Exit(m.Run())
	case "hold-lock":
		helperHoldLock()
	case "region":
		helperRegion()
	case "tags":
		helperTags()
	default:
		fmt.Fprintf(os.Stderr, "unknown helper %q\n", h)
		os.Exit(2)
	}
	os.Exit(0)
}

// newStore returns a store on a new file of t's, closed at its end.
func newStore(t testing.TB, o file.Options) *file.Store {
	t.Helper()
	if o.Filename == "" {
		o.Filename = filepath.Join(t.TempDir(), "cache.db")
	}
	s, err := file.New(o)
	if err != nil {
		t.Fatalf("New(%+v): %v", o, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// helper is a running helper process: the test binary started again with
// helperEnv set.
type helper struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
}

// startHelper starts the helper called name with env added to its
// environment. It is killed, if still running, when t ends.
func startHelper(t *testing.T, name string, env ...string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{helperEnv + "=" + name}, env...)...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting helper %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return &helper{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
}

// expect reads the helper's next line and fails t unless it is want.
func (h *helper) expect(t *testing.T, want string) {
	t.Helper()
	line, ok := h.line(t)
	if !ok || line != want {
		t.Fatalf("helper %d said %q (%v), want %q", h.cmd.Process.Pid, line, ok, want)
	}
}

// line reads the helper's next line, failing t if none comes within 30s.
func (h *helper) line(t *testing.T) (string, bool) {
	t.Helper()
	type res struct {
		s  string
		ok bool
	}
	ch := make(chan res, 1)
	go func() {
		ok := h.out.Scan()
		ch <- res{strings.TrimSpace(h.out.Text()), ok}
	}()
	select {
	case r := <-ch:
		return r.s, r.ok
	case <-time.After(30 * time.Second):
		t.Fatalf("helper %d said nothing for 30s", h.cmd.Process.Pid)
		return "", false
	}
}

// send writes a line to the helper.
func (h *helper) send(t *testing.T, line string) {
	t.Helper()
	if _, err := fmt.Fprintln(h.stdin, line); err != nil {
		t.Fatalf("writing to helper %d: %v", h.cmd.Process.Pid, err)
	}
}
