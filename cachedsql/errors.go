package cachedsql

import "errors"

var (
	// ErrNotOpenedByName is returned by the driver's Open: cachedsql's
	// driver wraps a database handle and is reached through Open, Connect,
	// NewDb or Wrap, never by a data source name.
	ErrNotOpenedByName = errors.New("cachedsql: the caching driver is opened through cachedsql.Open, Connect, NewDb or Wrap")

	// ErrConnClosed is returned by a connection used after Close.
	ErrConnClosed = errors.New("cachedsql: connection is closed")

	// ErrBadOption is returned, wrapped with what was wrong, for an
	// invalid option.
	ErrBadOption = errors.New("cachedsql: invalid option")

	// ErrNotCacheable is returned by DB.CacheKey for a statement the DB
	// never caches, with the analyzer's reason.
	ErrNotCacheable = errors.New("cachedsql: statement is not cached")

	// ErrTxControl is returned for a statement that starts or ends a
	// transaction by its text (COMMIT, ROLLBACK, PREPARE TRANSACTION,
	// BEGIN, …, alone or in a string of several) sent inside a Tx: it
	// would end the transaction behind the Tx's back, and its writes'
	// invalidation with it. End a Tx with its Commit or Rollback.
	ErrTxControl = errors.New("cachedsql: transaction control statement (COMMIT, ROLLBACK, …) sent inside a Tx; use Tx.Commit or Tx.Rollback")

	// ErrHook wraps the failure (error or panic) of a commit or rollback
	// hook. It is reported to the DB's error handler and never returned by
	// Commit or Rollback: the transaction's outcome stands.
	ErrHook = errors.New("cachedsql: transaction hook failed")
)
