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

// Errors of the Listener.
var (
	// ErrBadPayload wraps what is wrong with a notification's payload
	// (see ParsePayload). The Listener treats such a notification as
	// saying that every table may have changed.
	ErrBadPayload = errors.New("invalidation: malformed notification payload")

	// ErrListenerDown wraps why the Listener is not listening: the
	// connection could not be made, LISTEN failed, or the connection was
	// lost. The Listener retries by itself; Listener.LastError returns it.
	ErrListenerDown = errors.New("invalidation: listener not connected")

	// ErrListenerRunning is returned by Listener.Run and Listener.Start on
	// a listener that is running or has run: a Listener runs once.
	ErrListenerRunning = errors.New("invalidation: listener already started")
)
