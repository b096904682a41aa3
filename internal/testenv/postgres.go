package testenv

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresOptions configures a server started by [NewPostgres]. The zero
// value is the package's fast, non-durable configuration.
type PostgresOptions struct {
	// Settings holds further server settings passed as -c name=value, such
	// as {"max_connections": "200"}; they override the package's own.
	// Nil means none.
	Settings map[string]string
}

// Postgres is a PostgreSQL server on a loopback port: one started by this
// package, or an external one named by [EnvPostgresURL].
//
// A server this package starts is made for speed, not durability: initdb
// runs once per test binary (with --no-sync, trust authentication, UTF8,
// locale C, superuser postgres) and each server starts from a copy of that
// cluster, with fsync, synchronous_commit and full_page_writes off. With
// synchronous_commit off a commit returns before its WAL reaches the OS, so
// Kill may lose the last fraction of a second of commits, as a crash of a
// server so configured would; a test about what survives Kill sets
// PostgresOptions{Settings: map[string]string{"synchronous_commit": "on"}}.
// Its methods are safe for concurrent use by multiple goroutines.
type Postgres struct {
	server
	url   url.URL      // the server, connecting to its maintenance database
	dbSeq atomic.Int64 // numbers the databases NewDatabase makes
}

// DSN returns a URL for the server's maintenance database (postgres, or
// whichever [EnvPostgresURL] names), usable by pgx and its database/sql
// driver: postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable.
func (p *Postgres) DSN() string {
	return p.url.String()
}

// DSNFor returns the URL of database on this server.
func (p *Postgres) DSNFor(database string) string {
	u := p.url
	u.Path = "/" + database
	u.RawPath = ""
	return u.String()
}

// NewDatabase creates an empty database for tb, named after it, and returns
// its URL; the database is dropped (disconnecting whoever is still in it)
// when tb ends. Tests sharing one server thus keep out of each other's
// tables.
func (p *Postgres) NewDatabase(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("t_%s_%d", dbNameFrom(tb.Name()), p.dbSeq.Add(1))
	ident := pgx.Identifier{name}.Sanitize()
	if err := p.exec("CREATE DATABASE " + ident); err != nil {
		tb.Fatalf("testenv: create database %s on %s: %v", name, p.addr, err)
	}
	tb.Cleanup(func() {
		if err := p.exec("DROP DATABASE IF EXISTS " + ident + " WITH (FORCE)"); err != nil {
			tb.Logf("testenv: drop database %s on %s: %v", name, p.addr, err)
		}
	})
	return p.DSNFor(name)
}

var notIdent = regexp.MustCompile(`[^a-z0-9]+`)

// dbNameFrom turns a test name into the middle of a database name, short
// enough for PostgreSQL's 63-byte identifiers.
func dbNameFrom(testName string) string {
	s := strings.Trim(notIdent.ReplaceAllString(strings.ToLower(testName), "_"), "_")
	if len(s) > 40 {
		s = s[:40]
	}
	return s
}

// exec runs one statement in the maintenance database.
func (p *Postgres) exec(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.DSN())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// NewPostgres starts a PostgreSQL server for tb alone, which tb may stop,
// kill and pause; it is removed when tb ends. Missing PostgreSQL binaries,
// or a missing postgres OS user when the tests run as root, skip tb, or
// fail it when CI is set.
func NewPostgres(tb testing.TB, opts PostgresOptions) *Postgres {
	tb.Helper()
	requireMain(tb)
	p, err := startPostgres(opts, "NewPostgres")
	if err != nil {
		skipOrFatal(tb, err)
	}
	tb.Cleanup(p.close)
	return p
}

// pgTemplate is the cluster initdb makes once per test binary; every server
// starts from a copy, which takes a fraction of initdb's time.
var pgTemplate struct {
	once sync.Once
	data string
	err  error
}

func initdbTemplate(binDir string, cred *syscall.Credential) (string, error) {
	pgTemplate.once.Do(func() {
		dir, err := newDir("postgres-template")
		if err != nil {
			pgTemplate.err = err
			return
		}
		data := filepath.Join(dir, "data")
		if err := os.Mkdir(data, 0o700); err != nil {
			pgTemplate.err = fmt.Errorf("testenv: %w", err)
			return
		}
		if err := chown(data, cred); err != nil {
			pgTemplate.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*StartTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"),
			"--pgdata="+data, "--username=postgres", "--auth=trust",
			"--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
		cmd.Dir = dir // the postgres user may not enter the test's directory
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		if out, err := cmd.CombinedOutput(); err != nil {
			pgTemplate.err = fmt.Errorf("%w: initdb %s: %v\n%s", ErrStartFailed, data, err, out)
			return
		}
		pgTemplate.data = data
	})
	return pgTemplate.data, pgTemplate.err
}

func startPostgres(opts PostgresOptions, newFunc string) (*Postgres, error) {
	binDir, err := pgBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := pgCredential()
	if err != nil {
		return nil, err
	}
	template, err := initdbTemplate(binDir, cred)
	if err != nil {
		return nil, err
	}
	dir, err := newDir("postgres")
	if err != nil {
		return nil, err
	}
	data, sock := filepath.Join(dir, "data"), filepath.Join(dir, "sock")
	if out, err := exec.Command("cp", "-a", template, data).CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("%w: copy the initdb template: %v\n%s", ErrStartFailed, err, out)
	}
	err = os.Mkdir(sock, 0o700)
	if err == nil {
		err = chown(sock, cred)
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("testenv: %w", err)
	}

	settings := map[string]string{
		"listen_addresses":   "127.0.0.1",
		"fsync":              "off",
		"synchronous_commit": "off",
		"full_page_writes":   "off",
		// Two-phase commit, for the tests of PREPARE TRANSACTION.
		"max_prepared_transactions": "8",
	}
	for k, v := range opts.Settings {
		settings[k] = v
	}
	names := make([]string, 0, len(settings))
	for k := range settings {
		names = append(names, k)
	}
	sort.Strings(names)

	var u url.URL
	proc, port, err := startWithPortRetry(false, func(port int) (*process, error) {
		u = url.URL{
			Scheme:   "postgres",
			User:     url.User("postgres"),
			Host:     loopbackAddr(port),
			Path:     "/postgres",
			RawQuery: "sslmode=disable",
		}
		dsn := u.String()
		args := []string{"-D", data, "-p", strconv.Itoa(port), "-k", sock}
		for _, k := range names {
			args = append(args, "-c", k+"="+settings[k])
		}
		return &process{
			name:     "postgres " + u.Host,
			path:     filepath.Join(binDir, "postgres"),
			args:     args,
			dir:      dir,
			logPath:  filepath.Join(dir, "postgres.log"),
			cred:     cred,
			stopSig:  syscall.SIGINT, // fast shutdown: SIGTERM would wait for clients to leave
			settle:   func() { waitShmDetached(data, 10*time.Second) },
			ready:    func(ctx context.Context) error { return pgPing(ctx, dsn) },
			portBusy: addrInUse,
		}, nil
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return &Postgres{
		server: server{kind: "postgres", newFunc: newFunc, addr: loopbackAddr(port), proc: proc, dir: dir},
		url:    u,
	}, nil
}

func pgPing(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx)
}

// close stops a server this package started, gracefully (a killed
// PostgreSQL leaves its System V shared memory block behind), and removes
// its files.
func (p *Postgres) close() {
	if p.proc == nil {
		return
	}
	p.proc.stop()
	removeStaleShm(filepath.Join(p.dir, "data"))
	_ = os.RemoveAll(p.dir)
}

// pgShmid returns the id of the System V shared memory block of the server
// in data, from line 7 ("key id") of its postmaster.pid, which a clean
// shutdown removes; ok is false when there is none.
func pgShmid(data string) (id int, ok bool) {
	b, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 7 {
		return 0, false
	}
	fields := strings.Fields(lines[6])
	if len(fields) != 2 {
		return 0, false
	}
	id, err = strconv.Atoi(fields[1])
	return id, err == nil && id >= 0
}

// waitShmDetached waits, at most timeout, until no process is attached to
// the shared memory block of the killed server in data.
//
// PostgreSQL puts each backend in a process group of its own (setsid), so
// killing the postmaster's group leaves them to notice its death and exit
// by themselves, which takes a moment; a server started before the last has
// detached refuses to ("pre-existing shared memory block is still in use").
func waitShmDetached(data string, timeout time.Duration) {
	id, ok := pgShmid(data)
	if !ok {
		return
	}
	want := strconv.Itoa(id)
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		table, err := os.ReadFile("/proc/sysvipc/shm")
		if err != nil {
			return
		}
		attached := false
		for _, line := range strings.Split(string(table), "\n")[1:] {
			// key shmid perms size cpid lpid nattch …
			if f := strings.Fields(line); len(f) > 6 && f[1] == want {
				attached = f[6] != "0"
			}
		}
		if !attached {
			return
		}
	}
}

// removeStaleShm removes the System V shared memory block of a server that
// was killed and not started again (a start would have removed it itself).
// Removal waits for the last process to detach.
func removeStaleShm(data string) {
	if id, ok := pgShmid(data); ok {
		const ipcRmid = 0
		_, _, _ = syscall.Syscall(syscall.SYS_SHMCTL, uintptr(id), ipcRmid, 0)
	}
}

// externalPostgres returns the server EnvPostgresURL names, or nil.
func externalPostgres() (*Postgres, error) {
	v := strings.TrimSpace(os.Getenv(EnvPostgresURL))
	if v == "" {
		return nil, nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return nil, fmt.Errorf("testenv: %s=%q: want a URL such as postgres://user@host:5432/postgres?sslmode=disable",
			EnvPostgresURL, v)
	}
	return &Postgres{
		server: server{kind: "postgres", newFunc: "NewPostgres", addr: u.Host, extVar: EnvPostgresURL, shared: true},
		url:    *u,
	}, nil
}
