package migrations_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/dogpile-go/dogpile/internal/testenv"
	"github.com/dogpile-go/dogpile/migrations"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// openDB returns the URL of a fresh database and a *sql.DB on it.
func openDB(t *testing.T) (string, *sql.DB) {
	t.Helper()
	dsn := testenv.PostgresDB(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return dsn, db
}

// installed returns a fresh database with the migrations applied.
func installed(t *testing.T, opts ...migrations.Option) (string, *sql.DB, *migrations.Migrator) {
	t.Helper()
	dsn, db := openDB(t)
	m, err := migrations.New(db, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(t.Context()); err != nil {
		t.Fatal(err)
	}
	return dsn, db, m
}

// exec runs statements on db, failing t on error.
func exec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.ExecContext(t.Context(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// A listener is a pgx connection that LISTENs on a channel, as dogpile's
// listener does.
type listener struct {
	t       *testing.T
	conn    *pgx.Conn
	db      *sql.DB // sends the sentinels
	channel string
}

var sentinels atomic.Int64

func listen(t *testing.T, dsn string, db *sql.DB, channel string) *listener {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(t.Context(), "LISTEN "+channel); err != nil {
		t.Fatal(err)
	}
	return &listener{t: t, conn: conn, db: db, channel: channel}
}

// received returns the payloads of every notification committed before
// the call, in the order they arrived. It sends a sentinel notification of
// its own, which PostgreSQL queues after every transaction that committed
// before it, and reads up to it: no sleeping, and nothing missed.
func (l *listener) received() []string {
	l.t.Helper()
	sentinel := fmt.Sprintf("sentinel-%d", sentinels.Add(1))
	if _, err := l.db.ExecContext(l.t.Context(), "SELECT pg_notify($1, $2)", l.channel, sentinel); err != nil {
		l.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(l.t.Context(), 10*time.Second)
	defer cancel()
	var got []string
	for {
		n, err := l.conn.WaitForNotification(ctx)
		if err != nil {
			l.t.Fatalf("waiting for notifications on %s (got %q so far): %v", l.channel, got, err)
		}
		if n.Channel != l.channel {
			l.t.Fatalf("notification on channel %q, want %q", n.Channel, l.channel)
		}
		if n.Payload == sentinel {
			return got
		}
		got = append(got, n.Payload)
	}
}

// expect checks that exactly the payloads want arrived, in any order.
func (l *listener) expect(want ...string) {
	l.t.Helper()
	got := l.received()
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		l.t.Errorf("notifications: got %q, want %q", got, want)
	}
}
