package testenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Psql runs sql through the psql program against dsn and returns what it
// printed, trimmed: rows only, unaligned, fields separated by "|". The
// statements run as psql would run a script file, each in its own
// transaction unless sql says BEGIN, and stop at the first error.
//
// psql is a separate OS process with its own connection, so a test can make
// "a write this program never saw", as another service or an operator
// would. Errors fail tb; a missing psql skips tb, or fails it when CI is
// set. Use [RunPsql] to look at an error.
func Psql(tb testing.TB, dsn, sql string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := RunPsql(ctx, dsn, sql)
	if err != nil {
		skipOrFatal(tb, err)
	}
	return out
}

// RunPsql is [Psql] returning its error, which carries psql's messages. A
// missing psql is an error wrapping [ErrMissingDependency].
func RunPsql(ctx context.Context, dsn, sql string) (string, error) {
	bin, err := psqlPath()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, bin, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f", "-")
	cmd.Stdin = strings.NewReader(sql)
	cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=10")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("testenv: psql: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// psqlPath prefers the psql beside the server binaries, of the same
// version, then psql on PATH.
func psqlPath() (string, error) {
	if dir, err := pgBinDir(); err == nil && isExecutable(filepath.Join(dir, "psql")) {
		return filepath.Join(dir, "psql"), nil
	}
	if p, err := exec.LookPath("psql"); err == nil {
		return p, nil
	}
	return "", missing("psql not found beside the PostgreSQL server binaries nor on PATH")
}
