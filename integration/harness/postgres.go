package harness

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/testcontainers/testcontainers-go"
	tcexec "github.com/testcontainers/testcontainers-go/exec"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"

	"github.com/dogpile-go/dogpile/internal/testenv"
)

// Postgres is a PostgreSQL server: a container, or a local server of
// testenv's. Its superuser may create databases.
type Postgres struct {
	dsn   string                        // the maintenance database
	local *testenv.Postgres             // nil for a container
	ctr   *tcpostgres.PostgresContainer // nil for a local server
	ctrl  control                       // nil for a shared server
}

var sharedPostgres sharedContainer[*Postgres]

// SharedPostgres returns the PostgreSQL server every test of the binary
// shares. Tests take databases of their own from [Postgres.NewDatabase]
// and may not stop it.
func SharedPostgres(tb testing.TB) *Postgres {
	tb.Helper()
	if Chosen(tb).Servers == Containers {
		p, err := sharedPostgres.get(func(ctx context.Context) (*Postgres, error) {
			return startPostgresContainer(ctx, false)
		})
		if err == nil {
			return p
		}
		fallback(tb, "PostgreSQL", err)
	}
	s := testenv.SharedPostgres(tb)
	return &Postgres{dsn: s.DSN(), local: s}
}

// NewPostgres starts a PostgreSQL server for tb alone, which tb may stop,
// start and kill; it is removed when tb ends.
func NewPostgres(tb testing.TB) *Postgres {
	tb.Helper()
	if c := Chosen(tb); c.Servers == Containers {
		if !c.canPinPorts() {
			fallback(tb, "breakable PostgreSQL", fmt.Errorf("the engine publishes ports on %q, where the harness cannot pin them", c.Engine.PublishHost))
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), containerStartTimeout)
			defer cancel()
			p, err := startPostgresContainer(ctx, true)
			if err == nil {
				testcontainers.CleanupContainer(tb, p.ctr)
				return p
			}
			fallback(tb, "breakable PostgreSQL", err)
		}
	}
	s := testenv.NewPostgres(tb, testenv.PostgresOptions{})
	return &Postgres{dsn: s.DSN(), local: s, ctrl: s}
}

// startPostgresContainer runs a PostgreSQL container, with its port pinned
// when breakable.
func startPostgresContainer(ctx context.Context, breakable bool) (_ *Postgres, err error) {
	opts := []testcontainers.ContainerCustomizer{
		tcpostgres.BasicWaitStrategies(),
		// As testenv runs its servers: made for speed, not durability.
		testcontainers.WithCmdArgs("-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200"),
	}
	if breakable {
		pin, err := pinPort("5432/tcp")
		if err != nil {
			return nil, err
		}
		opts = append(opts, pin)
	}
	ctr, err := tcpostgres.Run(ctx, PostgresImage, opts...)
	defer func() { terminateOnError(ctr, err) }()
	if err != nil {
		return nil, err
	}
	dsn, err := ctr.ConnectionString(ctx, "sslmode=disable")
	if err != nil {
		return nil, err
	}
	if breakable {
		u, err := url.Parse(dsn)
		if err != nil {
			return nil, err
		}
		u.Host = pinnedAddr(u.Host)
		dsn = u.String()
	}
	p := &Postgres{dsn: dsn, ctr: ctr}
	if breakable {
		p.ctrl = containerControl{ctr: ctr, ready: func(ctx context.Context) error { return pingPostgres(ctx, dsn) }}
	}
	return p, nil
}

func pingPostgres(ctx context.Context, dsn string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.PingContext(ctx)
}

// DSN returns the URL of the server's maintenance database.
func (p *Postgres) DSN() string { return p.dsn }

// Container reports whether the server is a container.
func (p *Postgres) Container() bool { return p.ctr != nil }

// NewDatabase creates an empty database for tb and returns its URL; the
// database is dropped (disconnecting whoever is still in it) when tb ends.
func (p *Postgres) NewDatabase(tb testing.TB) string {
	tb.Helper()
	if p.local != nil {
		return p.local.NewDatabase(tb)
	}
	name := databaseName(tb.Name())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := execMaintenance(ctx, p.dsn, `CREATE DATABASE "`+name+`"`); err != nil {
		tb.Fatalf("harness: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := execMaintenance(ctx, p.dsn, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil {
			tb.Errorf("harness: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(p.dsn)
	if err != nil {
		tb.Fatalf("harness: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func execMaintenance(ctx context.Context, dsn, stmt string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, stmt)
	return err
}

var notInName = regexp.MustCompile(`[^a-z0-9_]+`)

// databaseName makes a database name from a test's name, unique, within
// PostgreSQL's 63 bytes.
func databaseName(test string) string {
	base := notInName.ReplaceAllString(strings.ToLower(test), "_")
	if len(base) > 40 {
		base = base[:40]
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "it_" + base + "_" + hex.EncodeToString(b)
}

// Psql runs sql through the psql program against the database dsn names
// and returns what it printed: rows only, unaligned, fields separated by
// "|". The statements run as a psql script, each in its own transaction
// unless sql says BEGIN, and stop at the first error, which fails tb.
//
// psql is a process of its own, with its own connection: a write no
// cachedsql.DB sees, as another service or an operator would make. For a
// local server it is the local psql (testenv.Psql); for a container, the
// container's.
func (p *Postgres) Psql(tb testing.TB, dsn, sql string) string {
	tb.Helper()
	if p.ctr == nil {
		return testenv.Psql(tb, dsn, sql)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("harness: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The script goes in through the environment, which needs no quoting.
	code, out, err := p.ctr.Exec(ctx,
		[]string{"sh", "-c", `printf '%s' "$PSQL_SCRIPT" | psql -X -q -v ON_ERROR_STOP=1 -A -t -F '|' -U postgres -d "$PSQL_DB"`},
		tcexec.Multiplexed(),
		tcexec.WithEnv([]string{"PSQL_SCRIPT=" + sql, "PSQL_DB=" + strings.TrimPrefix(u.Path, "/")}))
	if err != nil {
		tb.Fatalf("harness: psql in container: %v", err)
	}
	text, _ := io.ReadAll(out)
	if code != 0 {
		tb.Fatalf("harness: psql exited %d: %s", code, text)
	}
	return strings.TrimSpace(string(text))
}

// Stop shuts the server down and waits for it to exit; its data stays.
func (p *Postgres) Stop(tb testing.TB) {
	tb.Helper()
	p.control(tb).Stop(tb)
}

// Start starts a stopped or killed server again on the same address and
// waits until it serves.
func (p *Postgres) Start(tb testing.TB) {
	tb.Helper()
	p.control(tb).Start(tb)
}

// Kill stops the server as a crash would.
func (p *Postgres) Kill(tb testing.TB) {
	tb.Helper()
	p.control(tb).Kill(tb)
}

func (p *Postgres) control(tb testing.TB) control {
	tb.Helper()
	if p.ctrl == nil {
		noControl(tb, "Postgres")
	}
	return p.ctrl
}
