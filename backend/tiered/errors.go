package tiered

import "errors"

var (
	// ErrNotPublished is returned, wrapping Redis's error, by a write or a
	// tag operation that was made in Redis but whose invalidation message
	// could not be published: other processes may keep their near copies
	// of the keys (or, in bounded coherence, their cached tag states) until
	// Options.NearTTL (or Options.MaxTagAge) passes, or until they lose
	// their own subscription. Retrying the operation publishes again.
	ErrNotPublished = errors.New("tiered: written to Redis, but the invalidation message was not published")
)
