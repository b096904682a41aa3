package cachedsql

import "time"

// SetPreparedHold sets how long db holds a prepared transaction's write
// set (preparedHold), for tests that cannot wait minutes.
func SetPreparedHold(db *DB, d time.Duration) { db.e.preparedHold = d }
