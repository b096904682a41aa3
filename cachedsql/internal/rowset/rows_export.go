package rowset

import (
	"context"
	"database/sql/driver"
)

// DriverRows returns the driver rows of a replay of s, for a
// database/sql driver that answers queries from the cache itself (as
// cachedsql's caching driver does) rather than through [Query]. The rows
// copy every []byte cell, as every replay does, and stop with ctx's error
// once ctx ends.
func DriverRows(ctx context.Context, s *Set) driver.Rows {
	return s.open(ctx)
}
