package testenv_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dogpile-go/dogpile/internal/testenv"
)

func pgConnect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func pgQueryInt(t *testing.T, dsn, sql string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func pgReachable(dsn string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

func TestSharedPostgresRoundTrip(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDB(t)
	if !strings.HasPrefix(dsn, "postgres://") {
		t.Fatalf("DSN %q: want a postgres:// URL", dsn)
	}
	conn := pgConnect(t, dsn)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "CREATE TABLE items (id int PRIMARY KEY, name text)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO items VALUES (1, 'one')"); err != nil {
		t.Fatal(err)
	}
	// psql, a separate process, sees the row and writes one of its own.
	if got := testenv.Psql(t, dsn, "SELECT name FROM items WHERE id = 1"); got != "one" {
		t.Fatalf("psql read %q, want %q", got, "one")
	}
	testenv.Psql(t, dsn, "INSERT INTO items VALUES (2, 'two'); UPDATE items SET name = 'uno' WHERE id = 1;")
	var names string
	if err := conn.QueryRow(ctx, "SELECT string_agg(name, ',' ORDER BY id) FROM items").Scan(&names); err != nil {
		t.Fatal(err)
	}
	if names != "uno,two" {
		t.Fatalf("after psql's writes got %q, want %q", names, "uno,two")
	}
}

func TestPostgresDatabasesAreSeparate(t *testing.T) {
	t.Parallel()
	a, b := testenv.PostgresDB(t), testenv.PostgresDB(t)
	if a == b {
		t.Fatalf("two NewDatabase calls gave the same URL %q", a)
	}
	testenv.Psql(t, a, "CREATE TABLE only_in_a (x int)")
	if got := testenv.Psql(t, b, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'"); got != "0" {
		t.Fatalf("table made in %s is visible in %s", a, b)
	}
}

func TestRunPsqlReportsErrors(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDB(t)
	_, err := testenv.RunPsql(context.Background(), dsn, "SELECT * FROM no_such_table")
	if err == nil || !strings.Contains(err.Error(), "no_such_table") {
		t.Fatalf("RunPsql on a missing table: err %v, want one naming no_such_table", err)
	}
}

func TestPostgresStopStartKill(t *testing.T) {
	t.Parallel()
	// synchronous_commit on: a commit is then in the OS's hands before it
	// returns, so it survives Kill (the package's default, off, may lose
	// the last fraction of a second of commits, as its doc says).
	pg := testenv.NewPostgres(t, testenv.PostgresOptions{Settings: map[string]string{"synchronous_commit": "on"}})
	dsn := pg.NewDatabase(t)
	testenv.Psql(t, dsn, "CREATE TABLE n (v int); INSERT INTO n VALUES (1);")

	steps := []struct {
		name   string
		break_ func(testing.TB)
		write  string
	}{
		{"stop", pg.Stop, "INSERT INTO n VALUES (2)"},
		{"kill", pg.Kill, "INSERT INTO n VALUES (3)"},
		{"restart", func(tb testing.TB) { pg.Restart(tb); pg.Stop(tb) }, "INSERT INTO n VALUES (4)"},
	}
	want := 1
	for _, s := range steps {
		s.break_(t)
		if err := pgReachable(dsn); err == nil {
			t.Fatalf("after %s: server still answers", s.name)
		}
		pg.Start(t)
		if got := pgQueryInt(t, dsn, "SELECT count(*) FROM n"); got != want {
			t.Fatalf("after %s and Start: %d rows, want %d", s.name, got, want)
		}
		testenv.Psql(t, dsn, s.write)
		want++
	}
}

func TestPostgresPause(t *testing.T) {
	t.Parallel()
	pg := testenv.NewPostgres(t, testenv.PostgresOptions{})
	pg.Pause(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if conn, err := pgx.Connect(ctx, pg.DSN()); err == nil {
		conn.Close(ctx)
		t.Fatal("a paused server answered")
	}
	pg.Resume(t)
	if err := pgReachable(pg.DSN()); err != nil {
		t.Fatalf("after Resume: %v", err)
	}
}

// A killed server that is never started again leaves its System V shared
// memory block behind unless the clean-up removes it.
func TestPostgresKilledLeavesNoSharedMemory(t *testing.T) {
	t.Parallel()
	var shmid string
	t.Run("kill", func(t *testing.T) {
		pg := testenv.NewPostgres(t, testenv.PostgresOptions{})
		shmid = pgShmid(t, pg)
		pg.Kill(t)
	})
	if shmExists(shmid) {
		t.Fatalf("shared memory block %s outlived its killed server", shmid)
	}
}

// pgShmid returns the id of the server's System V shared memory block, from
// line 7 of its postmaster.pid.
func pgShmid(t *testing.T, pg *testenv.Postgres) string {
	t.Helper()
	pidFile, err := os.ReadFile(filepath.Join(filepath.Dir(pg.LogFile()), "data", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(pidFile), "\n")
	if len(lines) < 7 || len(strings.Fields(lines[6])) != 2 {
		t.Fatalf("postmaster.pid has no shared memory line:\n%s", pidFile)
	}
	return strings.Fields(lines[6])[1]
}

func shmExists(shmid string) bool {
	segments, err := os.ReadFile("/proc/sysvipc/shm")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(segments), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 1 && f[1] == shmid {
			return true
		}
	}
	return false
}
