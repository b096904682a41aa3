package cachedsql

import (
	"context"

	"github.com/dogpile-go/dogpile/cachedsql/internal/rowset"
)

// Get, GetContext, Select and SelectContext are the cache hit of most
// programs: on a DB they scan a cached result straight into the
// destination (rowset's direct scan: each column planned once, each field
// written in place, falling back to sqlx's own scanning wherever that could
// differ), instead of replaying it through database/sql and sqlx. What they
// return is what sqlx would return from the database's rows, errors
// (sql.ErrNoRows among them) included.

// Get scans the single row of a query into dest, as sqlx's Get.
func (db *DB) Get(dest any, query string, args ...any) error {
	return db.GetContext(context.Background(), dest, query, args...)
}

// GetContext is Get with a context.
func (db *DB) GetContext(ctx context.Context, dest any, query string, args ...any) error {
	set, ok, err := db.cachedSet(&ctx, query, args)
	switch {
	case !ok:
		return db.x().GetContext(ctx, dest, query, args...)
	case err != nil:
		return err
	}
	return rowset.Get(ctx, set, dest, db.Mapper, db.unsafe)
}

// Select scans every row of a query into dest, a slice, as sqlx's Select.
func (db *DB) Select(dest any, query string, args ...any) error {
	return db.SelectContext(context.Background(), dest, query, args...)
}

// SelectContext is Select with a context.
func (db *DB) SelectContext(ctx context.Context, dest any, query string, args ...any) error {
	set, ok, err := db.cachedSet(&ctx, query, args)
	switch {
	case !ok:
		return db.x().SelectContext(ctx, dest, query, args...)
	case err != nil:
		return err
	}
	return rowset.Select(ctx, set, dest, db.Mapper, db.unsafe)
}

// cachedSet returns the cached result of a read, or ok == false when the
// read is not served from the cache here (not cacheable, arguments without
// a stable key, a result too large to cache): the caller then takes sqlx's
// path, which runs it on the database. *ctx then becomes a SkipCache
// context, so that sqlx's path (through the caching driver) does not try
// the cache again: a result too large to cache would otherwise be read
// from the database once more only to be dropped.
func (db *DB) cachedSet(ctx *context.Context, query string, args []any) (*rowset.Set, bool, error) {
	e := db.e
	if e == nil { // NewDb's failing DB: sqlx's path gives its error
		return nil, false, nil
	}
	set, _, err := e.fromCache(*ctx, query, args)
	switch {
	case err != nil:
		return nil, true, err
	case set == nil:
		*ctx = SkipCache(*ctx)
		return nil, false, nil
	}
	return set, true, nil
}

// fromCache serves a read, not inside a transaction, through the cache:
// tried is false when the cache cannot take it (it writes, is not
// cacheable, or its arguments have no stable key), and set is nil when
// tried but the result is too large to cache (a marker says so now).
func (e *engine) fromCache(ctx context.Context, query string, args []any) (set *rowset.Set, tried bool, err error) {
	an := e.analyze(query)
	cl := callFrom(ctx)
	if len(an.writeTags) > 0 || !e.cacheable(an, cl) {
		return nil, false, nil
	}
	set, err = e.cachedQuery(ctx, an, query, args, cl, nil)
	if isUncacheable(err) {
		return nil, false, nil
	}
	return set, true, err
}
