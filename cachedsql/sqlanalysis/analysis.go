package sqlanalysis

import "strconv"

// Analysis is what the analyzer learned about one SQL string.
//
// An Analysis is never modified after Analyze returns it, so it may be
// shared between goroutines (a cache memoizes them per SQL string); callers
// must not modify it or its slices either.
type Analysis struct {
	// Kind is what the statement does; Multiple when the string holds
	// several statements.
	Kind Kind
	// Reads are the tables the statement reads, sorted and deduplicated.
	// CTE names, aliases and table functions are not tables.
	Reads []Table
	// Writes are the tables whose data (or definition) the statement may
	// change, sorted and deduplicated.
	Writes []Table
	// Cacheable reports that the result depends only on the data in Reads:
	// a single read-only query with no locking clause, TABLESAMPLE,
	// volatile or unknown function, or system catalog. Cacheable implies
	// that Writes is empty and UnknownWrite is false.
	Cacheable bool
	// Reason says why the statement is not cacheable, naming the first
	// construct found ("FOR UPDATE", "volatile function now()", "2
	// statements"); empty when Cacheable.
	Reason string
	// UnknownWrite reports that the statement may change data in tables it
	// cannot name (CALL, DO, an unknown function, DROP … CASCADE, most
	// DDL): a cache must invalidate everything.
	UnknownWrite bool
	// Placeholders lists the bind placeholders in order of appearance,
	// repeats included: "$1", "?", ":name", "@name".
	Placeholders []string
	// Normalized is the canonical text for cache keys; see [Normalize].
	Normalized string
	// Statements is the number of statements in the string.
	Statements int
	// Kinds is the kind of each statement, in order (Kind alone says
	// Multiple for several).
	Kinds []Kind
	// TxControl lists, in order, the statements that start or end a
	// transaction by their text (BEGIN, COMMIT, PREPARE TRANSACTION, …);
	// nil when there are none. A caching layer that tracks transactions
	// needs them wherever they are in a string of several statements.
	TxControl []TxStatement
}

func itoa(n int) string { return strconv.Itoa(n) }
