package migrations

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
)

// A Migrator installs, upgrades and removes dogpile's objects in one schema
// of one PostgreSQL database, and attaches its trigger to tables. The
// *sql.DB may use any PostgreSQL driver (pgx's stdlib, lib/pq).
//
// Migrations are applied through goose's Provider: each in its own
// transaction, recorded in [VersionTable] in the schema, under a
// session-level advisory lock of the schema's own, so that processes
// starting together apply each migration once.
//
// A Migrator is safe for concurrent use by multiple goroutines.
type Migrator struct {
	db       *sql.DB
	schema   string
	channel  string
	lockID   int64
	provider *goose.Provider // goose serializes its own calls
	store    database.Store  // the same version table, to create it under our lock
}

// New returns a Migrator for db with the given options, after checking the
// schema and channel names ([ErrInvalidName]). It does not touch the
// database.
func New(db *sql.DB, opts ...Option) (*Migrator, error) {
	if db == nil {
		return nil, errors.New("migrations: New: db is nil")
	}
	cfg := config{schema: DefaultSchema, channel: DefaultChannel}
	for _, opt := range opts {
		opt(&cfg)
	}
	if err := checkIdentifier("schema", cfg.schema, MaxSchemaLen); err != nil {
		return nil, err
	}
	if err := checkIdentifier("channel", cfg.channel, maxIdentifierLen); err != nil {
		return nil, err
	}
	m := &Migrator{db: db, schema: cfg.schema, channel: cfg.channel, lockID: lockID(cfg.schema)}
	fsys, err := renderSQL(m.schema, m.channel, m.TriggerName())
	if err != nil {
		return nil, err
	}
	// goose puts the table name into its SQL as is, and looks it up in
	// pg_tables split at the dot: a plain schema name makes both right.
	table := m.schema + "." + VersionTable
	m.provider, err = goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithTableName(table),
		goose.WithSessionLocker(advisoryLock{id: m.lockID}),
		// An application's own goose.AddMigration calls register Go
		// migrations globally; they are not ours.
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	m.store, err = database.NewStore(database.DialectPostgres, table)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return m, nil
}

// Schema returns the name of the schema the Migrator manages.
func (m *Migrator) Schema() string { return m.schema }

// Channel returns the NOTIFY channel watched tables notify on, as a plain
// identifier: LISTEN it as it is.
func (m *Migrator) Channel() string { return m.channel }

// TriggerName returns the name of the trigger [Migrator.Watch] puts on a
// table: the schema's name followed by "_notify" ("dogpile_notify" by
// default), so that installations in two schemas can watch one table.
func (m *Migrator) TriggerName() string { return m.schema + triggerSuffix }

// MigrationResult says what Up or Down did with one migration.
type MigrationResult struct {
	Version   int64         // the migration's version, from its file name (00001_… is 1)
	Name      string        // the rest of its file name, without ".sql"
	Direction string        // "up" or "down"
	Duration  time.Duration // how long it ran
}

// State is whether a migration is applied.
type State string

const (
	StateApplied State = "applied" // recorded in the version table
	StatePending State = "pending" // not applied yet; Up applies it
)

// MigrationStatus is one row of [Migrator.Status].
type MigrationStatus struct {
	Version int64
	Name    string
	State   State
	// AppliedAt is when the migration was applied: zero when pending.
	// goose records it as a timestamp without time zone, the wall clock of
	// the applying session's TimeZone setting; it comes back with the UTC
	// location whatever that zone was.
	AppliedAt time.Time
}

// Up applies every pending migration, in order, and returns what it
// applied: nothing when the schema is up to date, so a second Up is a
// no-op. It creates the schema and the version table first when they are
// missing, which needs the CREATE privilege on the database; a later Up with
// nothing to do needs only SELECT on the version table. A failed migration is an error wrapping [ErrMigration], returned
// with the migrations applied before it.
func (m *Migrator) Up(ctx context.Context) ([]MigrationResult, error) {
	if err := m.prepare(ctx); err != nil {
		return nil, err
	}
	res, err := m.provider.Up(ctx)
	if err != nil {
		return partialResults(err), fmt.Errorf("%w: up: %w", ErrMigration, err)
	}
	return results(res), nil
}

// prepare creates the schema and the version table, as goose would create
// the table but under the migration lock, so that processes starting
// together do not race to create it; and checks that an installed schema
// has the Migrator's channel.
func (m *Migrator) prepare(ctx context.Context) (err error) {
	tx, err := m.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrations: prepare schema %q: %w", m.schema, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if _, err := tx.ExecContext(ctx, "SELECT pg_catalog.pg_advisory_xact_lock($1)", m.lockID); err != nil {
		return fmt.Errorf("migrations: take the migration lock: %w", err)
	}
	var schemaExists bool
	if err := tx.QueryRowContext(ctx, "SELECT pg_catalog.to_regnamespace($1) IS NOT NULL", quoteIdent(m.schema)).Scan(&schemaExists); err != nil {
		return fmt.Errorf("migrations: look for schema %q: %w", m.schema, err)
	}
	// CREATE SCHEMA IF NOT EXISTS would need the CREATE privilege even
	// when the schema exists.
	if !schemaExists {
		if _, err := tx.ExecContext(ctx, "CREATE SCHEMA "+quoteIdent(m.schema)); err != nil {
			return fmt.Errorf("migrations: create schema %q: %w", m.schema, err)
		}
	}
	tableExists, err := m.versionTableExists(ctx, tx)
	if err != nil {
		return err
	}
	if !tableExists {
		if err := m.store.CreateVersionTable(ctx, tx); err != nil {
			return fmt.Errorf("migrations: create the version table: %w", err)
		}
		if err := m.store.Insert(ctx, tx, database.InsertRequest{Version: 0}); err != nil {
			return fmt.Errorf("migrations: create the version table: %w", err)
		}
	}
	installed, err := m.installedChannel(ctx, tx)
	if err != nil {
		return err
	}
	if installed != "" && installed != m.channel {
		return fmt.Errorf("%w: schema %q notifies on channel %q, not %q; run down-all and up again to change it",
			ErrChannelMismatch, m.schema, installed, m.channel)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrations: prepare schema %q: %w", m.schema, err)
	}
	return nil
}

// installedChannel returns the channel of the installed schema, or "" when
// migration 1 is not applied.
func (m *Migrator) installedChannel(ctx context.Context, q queryer) (string, error) {
	ok, err := m.hasFunction(ctx, q, "channel()")
	if err != nil || !ok {
		return "", err
	}
	var ch string
	if err := q.QueryRowContext(ctx, "SELECT "+m.function("channel")+"()").Scan(&ch); err != nil {
		return "", fmt.Errorf("migrations: read the installed channel: %w", err)
	}
	return ch, nil
}

// Down rolls back the most recently applied migration and says which it
// was; with none applied it returns [ErrNothingToRollBack]. Rolling back
// migration 1 removes the trigger from every watched table.
func (m *Migrator) Down(ctx context.Context) (MigrationResult, error) {
	ok, err := m.versionTableExists(ctx, m.db)
	if err != nil {
		return MigrationResult{}, err
	}
	if !ok {
		return MigrationResult{}, ErrNothingToRollBack
	}
	res, err := m.provider.Down(ctx)
	switch {
	case errors.Is(err, goose.ErrNoNextVersion):
		return MigrationResult{}, ErrNothingToRollBack
	case err != nil:
		return MigrationResult{}, fmt.Errorf("%w: down: %w", ErrMigration, err)
	}
	return result(res), nil
}

// DownAll rolls back every applied migration, newest first, and returns
// what it rolled back (nothing when nothing was applied). Watched tables
// lose their triggers. The schema and its version table stay, recording
// version 0; DROP SCHEMA dogpile CASCADE removes the rest.
func (m *Migrator) DownAll(ctx context.Context) ([]MigrationResult, error) {
	ok, err := m.versionTableExists(ctx, m.db)
	if err != nil || !ok {
		return nil, err
	}
	res, err := m.provider.DownTo(ctx, 0)
	if err != nil {
		return partialResults(err), fmt.Errorf("%w: down-all: %w", ErrMigration, err)
	}
	return results(res), nil
}

// Status lists every migration this package knows, by version, applied or
// pending. It changes nothing: on a database where Up never ran, all are
// pending. It waits for an Up or Down in progress, whose migration lock it
// takes.
func (m *Migrator) Status(ctx context.Context) ([]MigrationStatus, error) {
	ok, err := m.versionTableExists(ctx, m.db)
	if err != nil {
		return nil, err
	}
	if !ok {
		var out []MigrationStatus
		for _, s := range m.provider.ListSources() {
			out = append(out, MigrationStatus{Version: s.Version, Name: migrationName(s.Path), State: StatePending})
		}
		return out, nil
	}
	st, err := m.provider.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrations: status: %w", err)
	}
	out := make([]MigrationStatus, 0, len(st))
	for _, s := range st {
		ms := MigrationStatus{Version: s.Source.Version, Name: migrationName(s.Source.Path), State: StatePending}
		if s.State == goose.StateApplied {
			ms.State, ms.AppliedAt = StateApplied, s.AppliedAt
		}
		out = append(out, ms)
	}
	return out, nil
}

// Version returns the highest applied migration's version: 0 when none
// is (or Up never ran), [LatestVersion] when the schema is up to date.
func (m *Migrator) Version(ctx context.Context) (int64, error) {
	ok, err := m.versionTableExists(ctx, m.db)
	if err != nil || !ok {
		return 0, err
	}
	v, err := m.provider.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrations: version: %w", err)
	}
	return v, nil
}

// LatestVersion returns the version of the newest migration in this
// package: the version Up brings a schema to.
func LatestVersion() int64 {
	entries, _ := fs.ReadDir(sqlFiles, "sql")
	var latest int64
	for _, e := range entries {
		if v, err := goose.NumericComponent(e.Name()); err == nil {
			latest = max(latest, v)
		}
	}
	return latest
}

func (m *Migrator) versionTableExists(ctx context.Context, q queryer) (bool, error) {
	var ok bool
	name := quoteIdent(m.schema) + "." + quoteIdent(VersionTable)
	if err := q.QueryRowContext(ctx, "SELECT pg_catalog.to_regclass($1) IS NOT NULL", name).Scan(&ok); err != nil {
		return false, fmt.Errorf("migrations: look for the version table: %w", err)
	}
	return ok, nil
}

// queryer is what *sql.DB and *sql.Tx have in common here.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// function returns the schema-qualified name of one of the installed
// functions, for SQL text.
func (m *Migrator) function(name string) string { return quoteIdent(m.schema) + "." + name }

// hasFunction reports whether the installed function with this signature,
// such as "watch(regclass)", exists.
func (m *Migrator) hasFunction(ctx context.Context, q queryer, signature string) (bool, error) {
	var ok bool
	if err := q.QueryRowContext(ctx, "SELECT pg_catalog.to_regprocedure($1) IS NOT NULL", m.function(signature)).Scan(&ok); err != nil {
		return false, fmt.Errorf("migrations: look for function %s: %w", m.function(signature), err)
	}
	return ok, nil
}

func result(r *goose.MigrationResult) MigrationResult {
	return MigrationResult{
		Version:   r.Source.Version,
		Name:      migrationName(r.Source.Path),
		Direction: r.Direction,
		Duration:  r.Duration,
	}
}

func results(rs []*goose.MigrationResult) []MigrationResult {
	var out []MigrationResult
	for _, r := range rs {
		out = append(out, result(r))
	}
	return out
}

// partialResults returns the migrations that were applied before err.
func partialResults(err error) []MigrationResult {
	var pe *goose.PartialError
	if errors.As(err, &pe) {
		return results(pe.Applied)
	}
	return nil
}

// migrationName turns "00002_watch.sql" into "watch".
func migrationName(file string) string {
	base := strings.TrimSuffix(path.Base(file), ".sql")
	if _, name, ok := strings.Cut(base, "_"); ok {
		return name
	}
	return base
}
