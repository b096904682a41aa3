package migrations

import (
	"errors"

	"github.com/dogpile-go/dogpile/invalidation"
)

var (
	// ErrInvalidName is returned, wrapped with the name and what is wrong
	// with it, by [New] and the functions that take [Option]s when a schema
	// or channel name is not a plain identifier.
	ErrInvalidName = errors.New("migrations: invalid name")

	// ErrChannelMismatch is returned by Up when the schema is already
	// installed with another channel. The channel is fixed at installation:
	// roll everything back ([Migrator.DownAll]) and install again to change
	// it.
	ErrChannelMismatch = errors.New("migrations: schema installed with another channel")

	// ErrMigration is returned, wrapping goose's error, when applying or
	// rolling back a migration fails. Each migration runs in its own
	// transaction, so the failed one left nothing behind; those before it
	// stay applied.
	ErrMigration = errors.New("migrations: migration failed")

	// ErrNothingToRollBack is returned by Down when no migration is applied.
	ErrNothingToRollBack = errors.New("migrations: nothing to roll back: no migration is applied")

	// ErrNotInstalled is returned by Watch, Unwatch, Watched, Notify and
	// NotifyAll when the functions they call are not in the database: run
	// Up first.
	ErrNotInstalled = errors.New("migrations: not installed; run Up (dogpile-migrate up) first")

	// ErrNoSuchTable is returned, wrapped with the name, by Watch, Unwatch
	// and Notify for a name that is no table on the search_path.
	ErrNoSuchTable = errors.New("migrations: no such table")

	// ErrNotWatchable is returned by Watch for a relation that is not a
	// table or partitioned table (a view, a materialized view, a sequence,
	// a foreign table): nothing there fires statement triggers on writes.
	ErrNotWatchable = errors.New("migrations: relation cannot be watched")

	// ErrTriggerConflict is returned by Watch when the table already has a
	// trigger with the name dogpile uses ([Migrator.TriggerName]) that is
	// not dogpile's.
	ErrTriggerConflict = errors.New("migrations: table has a conflicting trigger")

	// ErrNotPermitted is returned when the role lacks a privilege the
	// call needs (a superuser's, for the event trigger of
	// [Migrator.WatchSchemaChanges]).
	ErrNotPermitted = errors.New("migrations: not permitted")

	// ErrBadPayload is returned by [ParsePayload] for text that is not a
	// notification payload; it is package invalidation's sentinel.
	ErrBadPayload = invalidation.ErrBadPayload
)
