// Package rowset turns query results into cacheable values and back, for
// cachedsql: on a miss, [Materialize] reads the database's *sql.Rows into
// a [Set]; a bytes store keeps the Set as [Set.MarshalBinary] encodes it
// ([Decode] reads it back); on a hit, [Query], [QueryRow], [Queryx],
// [QueryRowx], [Get] and [Select] replay the Set as real *sql.Rows,
// *sql.Row, *sqlx.Rows and *sqlx.Row that every scanning path of
// database/sql and sqlx reads as it would the database's answer. [Key]
// makes a query's cache key.
//
//	// miss
//	key, err := rowset.Key("users", "", normalizedSQL, args)
//	rows, err := db.QueryContext(ctx, query, args...)
//	set, over, err := rowset.Materialize(rows, rowset.Limits{MaxRows: 10000})
//	switch {
//	case err != nil:
//		return err // never cached
//	case over != nil:
//		return rowset.Select(ctx, over, &users, mapper, false) // too large: served once, not cached
//	}
//	store(key, set)
//	return rowset.Select(ctx, set, &users, mapper, false)
//
//	// hit
//	return rowset.Select(ctx, set, &users, mapper, false)
//
// # What a replay gives
//
// The same Columns; the same ColumnTypes (name, DatabaseTypeName, Length,
// DecimalSize, Nullable, ScanType, each present or absent as the driver
// gave it, as it stood before the first row); every result set; and the
// exact driver values of every row, so that database/sql's conversions
// into each kind of destination (*int, *string, *[]byte, *sql.RawBytes,
// *time.Time, *sql.NullString, *any, sql.Scanners, sqlx structs) behave as
// they did on the database's rows, errors included: sql.ErrNoRows from
// QueryRow and Get on an empty result, the same conversion errors.
//
// A replay never hands a caller memory that the Set, or another replay,
// shares: each replay copies every []byte cell (into a few arenas per
// replay), and copies the column names it returns. Strings and times are
// values. A cell of some other type a driver returned is handed over as it
// is, so such a driver must return immutable values, as drivers do.
//
// Replays run database/sql's own code over an in-process driver, opened
// once with sql.OpenDB and shared; it serves only this package's replays.
// A replay's context is the caller's: one already done gives its error,
// one cancelled during iteration ends it with its error, as on the
// database, but without the goroutine database/sql starts to watch a
// cancellable context.
//
// [Select] and [Get] of a Set into structs, the commonest hit, skip
// database/sql and sqlx when they can do so exactly: each column is
// planned once per Set and struct type (for a field type and the kinds of
// value the column holds, where database/sql's conversion is known and
// cannot fail, or the field's own Scan method), and fields are written in
// place, column by column when no field has a Scan method: some 40 ns a
// row of eight columns instead of 700. Whatever the plan does not cover
// goes through sqlx over the replay driver, so the answer is sqlx's in
// every case, errors included.
//
// # Limits
//
// [Limits] cap the rows and the estimated size ([Set.Size]) of what is
// cached. A larger result is not cached, and not lost: Materialize
// returns an [Overflow] instead of a Set, with the rows read so far and
// the still-open database rows, and one replay of the Overflow serves the
// whole result without running the query again.
//
// # Bytes stores
//
// The binary encoding is versioned and compact, and carries every value
// database/sql drivers return exactly (see [Set.MarshalBinary]); a value
// it cannot carry exactly is an error naming the column and the Go type,
// so that such a result is cached in memory only, or not at all. A *Set
// is also an encoding.BinaryMarshaler, BinaryAppender and TextMarshaler,
// and their Unmarshalers, so gob, CBOR and JSON serializers carry it.
package rowset
