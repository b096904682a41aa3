package invalidation

import "errors"

var (
	// ErrDeferred wraps the store's error when a bump or a release could
	// not be made now: it will be retried in the background until it
	// succeeds, and until then this process bypasses the cache for the
	// tags concerned. Nothing is lost; the caller may log it.
	ErrDeferred = errors.New("invalidation: deferred, retrying in the background")

	// ErrClosed is returned after Close.
	ErrClosed = errors.New("invalidation: closed")

	// ErrFinished is returned by a write set used after Commit or Rollback.
	ErrFinished = errors.New("invalidation: write set already committed or rolled back")

	// ErrBadOptions wraps what is wrong with Options.
	ErrBadOptions = errors.New("invalidation: invalid options")
)
