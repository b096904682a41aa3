package migrations

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"

	"github.com/pressly/goose/v3/lock"
)

// advisoryLock is goose's SessionLocker made of a PostgreSQL session-level
// advisory lock that waits in the server (pg_advisory_lock) instead of
// polling with pg_try_advisory_lock every few seconds, as goose's own
// locker does: a second process running Up at the same time goes on the
// moment the first is done, and the caller's context bounds the wait.
type advisoryLock struct {
	id int64
}

var _ lock.SessionLocker = advisoryLock{}

// lockID derives the advisory lock's key from the schema, so that
// installations in two schemas do not wait for each other, and neither
// waits for an application's own goose migrations (goose's default key).
func lockID(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("github.com/dogpile-go/dogpile/migrations:"))
	h.Write([]byte(schema))
	return int64(h.Sum64())
}

func (l advisoryLock) SessionLock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, "SELECT pg_catalog.pg_advisory_lock($1)", l.id); err != nil {
		return fmt.Errorf("migrations: take the migration lock (pg_advisory_lock(%d)): %w", l.id, err)
	}
	return nil
}

func (l advisoryLock) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	var released bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_catalog.pg_advisory_unlock($1)", l.id).Scan(&released); err != nil {
		return fmt.Errorf("migrations: release the migration lock (pg_advisory_unlock(%d)): %w", l.id, err)
	}
	if !released {
		return fmt.Errorf("migrations: release the migration lock (pg_advisory_unlock(%d)): the session did not hold it", l.id)
	}
	return nil
}
