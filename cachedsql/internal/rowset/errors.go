package rowset

import "errors"

var (
	// ErrUnsupportedValue is returned, wrapped with the column and the Go
	// type, by [Set.MarshalBinary] when a cell or a column's scan type is of
	// a type the binary encoding cannot carry exactly. The set can still be
	// cached in an object store (in memory); a bytes store must not cache
	// it, and the query should be served from the database.
	ErrUnsupportedValue = errors.New("rowset: value not supported by the binary encoding")

	// ErrMalformed is returned, wrapped with what was wrong and where, by
	// [Decode] for bytes that are not an encoded set of a format this build
	// reads: truncated, corrupt, or of another format version. A cache
	// should treat it as a miss.
	ErrMalformed = errors.New("rowset: malformed encoded set")

	// ErrOverflowReplayed is returned by a replay of an [Overflow] that was
	// already replayed: its rows come from the database and can be read
	// only once.
	ErrOverflowReplayed = errors.New("rowset: overflow already replayed; an Overflow can be replayed once")

	// ErrKeyArgument is returned, wrapped with the argument's position and
	// Go type, by [Key] for an argument that has no deterministic encoding
	// (a map, channel, function, a struct that is not a driver.Valuer, …).
	// The query should then run uncached.
	ErrKeyArgument = errors.New("rowset: argument cannot be part of a cache key")

	// errNoSource is returned by the replay driver when it is asked to run
	// a query that did not come through this package's replay functions.
	errNoSource = errors.New("rowset: the replay driver only serves queries from rowset replay functions")

	// errReadOnly is returned by the replay driver for anything but a query.
	errReadOnly = errors.New("rowset: the replay driver only answers queries")
)
