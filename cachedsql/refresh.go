package cachedsql

import (
	"context"

	"github.com/dogpile-go/dogpile/region"
)

// Refresher re-creates a cached value: a query's result ([DB.Query]'s
// RefreshQuery), a cached function's result ([RefreshFunc]), or anything
// else. Refreshers registered with [Tx.RefreshAfterCommit] run after the
// commit, on the region's async runner.
type Refresher interface {
	Refresh(ctx context.Context) error
}

// RefresherFunc adapts a function to [Refresher].
type RefresherFunc func(ctx context.Context) error

// Refresh calls f.
func (f RefresherFunc) Refresh(ctx context.Context) error { return f(ctx) }

// RefreshQuery returns a Refresher that runs query with args on the
// database and replaces its cached result, as a read with [RefreshCache]
// does. The query must be written for the DB's driver (its placeholders
// and bind type). A result too large to cache is read once, and the
// marker that says so is cached; a query that is not cacheable is run on
// the database, as a read with RefreshCache runs it.
func (db *DB) RefreshQuery(query string, args ...any) Refresher {
	return RefresherFunc(func(ctx context.Context) error {
		ctx = RefreshCache(ctx)
		// Through the cache directly: the driver's path would read a result
		// too large to cache a second time, to hand its rows to no one.
		if e := db.e; e != nil {
			if _, tried, err := e.fromCache(ctx, query, args); tried {
				return err // refreshed, or found too large and marked so
			}
		}
		rows, err := db.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		return rows.Close()
	})
}

// RefreshFunc returns a Refresher that re-creates the cached result of fn
// for arg (region's cached functions). Its tag versions are read before fn
// runs, as with every creation.
func RefreshFunc[A, V any](fn *region.Func[A, V], arg A) Refresher {
	return RefresherFunc(func(ctx context.Context) error {
		_, err := fn.Call(ctx, arg, region.ForceRefresh())
		return err
	})
}
