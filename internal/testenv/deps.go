package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
)

// skipOrFatal ends tb with err. A missing dependency skips the test on a
// developer's machine but fails it in CI (CI set), where a skip would hide a
// broken install step; anything else fails.
func skipOrFatal(tb testing.TB, err error) {
	tb.Helper()
	if errors.Is(err, ErrMissingDependency) && os.Getenv("CI") == "" {
		tb.Skip(err)
	}
	tb.Fatal(err)
}

func missing(what string) error {
	hint := "run scripts/test-deps.sh to install it"
	if os.Getenv("CI") == "" {
		hint += " (skipping; with CI set this fails)"
	}
	return fmt.Errorf("%w: %s; %s", ErrMissingDependency, what, hint)
}

// lookBinary finds a server binary on PATH.
func lookBinary(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", missing(name + " not found on PATH")
	}
	return p, nil
}

// pgBinDir returns the directory of the PostgreSQL server binaries: that of
// postgres on PATH, else the newest /usr/lib/postgresql/N/bin. Taking initdb
// and psql from the same directory keeps their versions matched.
func pgBinDir() (string, error) {
	if p, err := exec.LookPath("postgres"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			dir := filepath.Dir(real)
			if isExecutable(filepath.Join(dir, "initdb")) {
				return dir, nil
			}
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, dir := range dirs {
		if isExecutable(filepath.Join(dir, "postgres")) && isExecutable(filepath.Join(dir, "initdb")) {
			return dir, nil
		}
	}
	return "", missing("PostgreSQL server binaries (postgres, initdb) not found on PATH nor in /usr/lib/postgresql/*/bin")
}

func pgMajor(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// pgCredential returns the credential to run PostgreSQL with: the postgres
// OS user when the tests run as root (PostgreSQL refuses root), else nil.
func pgCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, missing("the OS user postgres (PostgreSQL refuses to run as root, so it runs as postgres)")
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("testenv: user postgres has uid %q gid %q: not numbers", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{uint32(gid)}}, nil
}

// chown gives path to cred's user; a nil cred leaves it alone.
func chown(path string, cred *syscall.Credential) error {
	if cred == nil {
		return nil
	}
	if err := os.Chown(path, int(cred.Uid), int(cred.Gid)); err != nil {
		return fmt.Errorf("testenv: chown %s to the postgres user: %w", path, err)
	}
	return nil
}
