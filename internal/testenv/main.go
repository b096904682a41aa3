package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// mainCalled is set by Main; every function that starts a server needs it,
// because only Main can stop the shared servers and remove their files.
var mainCalled atomic.Bool

// teardown holds what Main runs after the tests: shared servers' stops, in
// the order they were started.
var teardown struct {
	mu  sync.Mutex
	fns []func() // guarded by mu
}

func atTeardown(fn func()) {
	teardown.mu.Lock()
	defer teardown.mu.Unlock()
	teardown.fns = append(teardown.fns, fn)
}

// Main runs the tests of a package that uses testenv, then stops the shared
// servers they started and removes their files, and exits with the tests'
// exit code. Call it from TestMain:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// Should the test binary die without returning here (a panic, a timeout,
// SIGKILL), its servers die with it all the same: each is started with a
// parent-death signal. Their files are then removed by the next test binary
// that uses testenv.
func Main(m *testing.M) {
	mainCalled.Store(true)
	code := m.Run()
	teardown.mu.Lock()
	fns := teardown.fns
	teardown.fns = nil
	teardown.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
	removeProcessDir()
	os.Exit(code)
}

// requireMain fails tb unless the test binary runs under Main.
func requireMain(tb testing.TB) {
	tb.Helper()
	if !mainCalled.Load() {
		tb.Fatal("testenv: this package's TestMain must call testenv.Main so that the servers " +
			"it starts are stopped and their files removed; add\n\tfunc TestMain(m *testing.M) { testenv.Main(m) }")
	}
}

// processDir is the directory that holds every server's files for this
// test binary: $TMPDIR/dogpile-testenv-<pid>-<random>.
var processDir struct {
	once sync.Once
	path string
	err  error
}

const dirPrefix = "dogpile-testenv-"

// baseDir returns the directory to create processDir in. The postgres OS
// user must be able to reach it when the tests run as root, so a TMPDIR
// others cannot enter is passed over for /tmp.
func baseDir() string {
	base := os.TempDir()
	if os.Geteuid() != 0 {
		return base
	}
	for d := base; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return "/tmp"
		}
		if d == filepath.Dir(d) {
			return base
		}
	}
}

// newDir makes a directory for one server (or one group of servers) under
// processDir.
func newDir(kind string) (string, error) {
	processDir.once.Do(func() {
		base := baseDir()
		sweepStaleDirs(base)
		processDir.path, processDir.err = os.MkdirTemp(base, fmt.Sprintf("%s%d-", dirPrefix, os.Getpid()))
		if processDir.err == nil {
			// Servers that run as another user (PostgreSQL as postgres) enter it.
			processDir.err = os.Chmod(processDir.path, 0o755)
		}
	})
	if processDir.err != nil {
		return "", fmt.Errorf("testenv: make a temporary directory: %w", processDir.err)
	}
	dir, err := os.MkdirTemp(processDir.path, kind+"-")
	if err != nil {
		return "", fmt.Errorf("testenv: make a temporary directory: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", fmt.Errorf("testenv: make a temporary directory: %w", err)
	}
	return dir, nil
}

func removeProcessDir() {
	if processDir.path != "" {
		_ = os.RemoveAll(processDir.path)
	}
}

// sweepStaleDirs removes the directories, and PostgreSQL shared memory
// blocks, of earlier test binaries that died without running Main's
// teardown; the process id in a directory's name tells whether its owner
// still runs.
func sweepStaleDirs(base string) {
	matches, _ := filepath.Glob(filepath.Join(base, dirPrefix+"*"))
	for _, m := range matches {
		rest := strings.TrimPrefix(filepath.Base(m), dirPrefix)
		pidText, _, ok := strings.Cut(rest, "-")
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
			// A PostgreSQL that died with its binary left its shared memory.
			datas, _ := filepath.Glob(filepath.Join(m, "postgres-*", "data"))
			for _, data := range datas {
				removeStaleShm(data)
			}
			_ = os.RemoveAll(m)
		}
	}
}
