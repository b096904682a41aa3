package rowset

import (
	"context"
	"database/sql/driver"
)

// DriverRows returns the driver rows of a replay of s, for a
// database/sql driver that answers queries from the cache itself (as
// cachedsql's caching driver does) rather than through [Query]. The rows
// copy every []byte cell, as every replay does, and stop with ctx's error
// once ctx ends. A set with no result sets (a [TooLarge] marker, or the
// zero Set) gives rows whose Next returns an error.
func DriverRows(ctx context.Context, s *Set) driver.Rows {
	if err := s.claim(); err != nil {
		return failedRows{err}
	}
	return s.open(ctx)
}

// failedRows are the driver rows of a set that cannot be replayed.
type failedRows struct{ err error }

func (failedRows) Columns() []string           { return nil }
func (failedRows) Close() error                { return nil }
func (r failedRows) Next([]driver.Value) error { return r.err }
