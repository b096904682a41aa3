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
		return NoRows(err)
	}
	return s.open(ctx)
}

// NoRows returns driver rows with no columns whose Next returns err:
// io.EOF for a statement that returns no rows, another error for rows that
// cannot be given.
func NoRows(err error) driver.Rows { return noRows{err} }

type noRows struct{ err error }

func (noRows) Columns() []string           { return nil }
func (noRows) Close() error                { return nil }
func (r noRows) Next([]driver.Value) error { return r.err }
