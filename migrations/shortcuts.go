package migrations

import (
	"context"
	"database/sql"
)

// Up is [New] followed by [Migrator.Up].
func Up(ctx context.Context, db *sql.DB, opts ...Option) ([]MigrationResult, error) {
	m, err := New(db, opts...)
	if err != nil {
		return nil, err
	}
	return m.Up(ctx)
}

// Down is [New] followed by [Migrator.Down]: it rolls back one migration.
func Down(ctx context.Context, db *sql.DB, opts ...Option) (MigrationResult, error) {
	m, err := New(db, opts...)
	if err != nil {
		return MigrationResult{}, err
	}
	return m.Down(ctx)
}

// DownAll is [New] followed by [Migrator.DownAll]: it rolls back every
// migration.
func DownAll(ctx context.Context, db *sql.DB, opts ...Option) ([]MigrationResult, error) {
	m, err := New(db, opts...)
	if err != nil {
		return nil, err
	}
	return m.DownAll(ctx)
}

// Status is [New] followed by [Migrator.Status].
func Status(ctx context.Context, db *sql.DB, opts ...Option) ([]MigrationStatus, error) {
	m, err := New(db, opts...)
	if err != nil {
		return nil, err
	}
	return m.Status(ctx)
}

// Watch is [Migrator.Watch] in the [DefaultSchema]; for another schema, use
// a Migrator made by [New] with [WithSchema].
func Watch(ctx context.Context, db *sql.DB, tables ...string) error {
	m, err := New(db)
	if err != nil {
		return err
	}
	return m.Watch(ctx, tables...)
}

// Unwatch is [Migrator.Unwatch] in the [DefaultSchema].
func Unwatch(ctx context.Context, db *sql.DB, tables ...string) error {
	m, err := New(db)
	if err != nil {
		return err
	}
	return m.Unwatch(ctx, tables...)
}

// Watched is [Migrator.Watched] in the [DefaultSchema].
func Watched(ctx context.Context, db *sql.DB) ([]string, error) {
	m, err := New(db)
	if err != nil {
		return nil, err
	}
	return m.Watched(ctx)
}

// Notify is [Migrator.Notify] in the [DefaultSchema].
func Notify(ctx context.Context, db *sql.DB, tables ...string) error {
	m, err := New(db)
	if err != nil {
		return err
	}
	return m.Notify(ctx, tables...)
}

// NotifyAll is [Migrator.NotifyAll] in the [DefaultSchema].
func NotifyAll(ctx context.Context, db *sql.DB) error {
	m, err := New(db)
	if err != nil {
		return err
	}
	return m.NotifyAll(ctx)
}

// WatchSchemaChanges is [Migrator.WatchSchemaChanges] in the
// [DefaultSchema].
func WatchSchemaChanges(ctx context.Context, db *sql.DB) error {
	m, err := New(db)
	if err != nil {
		return err
	}
	return m.WatchSchemaChanges(ctx)
}

// UnwatchSchemaChanges is [Migrator.UnwatchSchemaChanges] in the
// [DefaultSchema].
func UnwatchSchemaChanges(ctx context.Context, db *sql.DB) error {
	m, err := New(db)
	if err != nil {
		return err
	}
	return m.UnwatchSchemaChanges(ctx)
}
