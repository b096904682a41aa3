package tiered

import "sync/atomic"

// Stats are a store's counters since it was made.
type Stats struct {
	// NearHits counts keys answered from the near tier.
	NearHits uint64
	// NearMisses counts keys looked up in the near tier and read from
	// Redis instead.
	NearMisses uint64
	// Bypassed counts keys read from Redis without looking in the near
	// tier, because the store was not subscribed ([Store.Healthy]).
	Bypassed uint64
	// TagChecks counts near hits of tagged entries checked against the
	// tag states in Redis (one round trip each, no payload).
	TagChecks uint64
	// CachedTagChecks counts near hits of tagged entries checked against
	// cached tag states, in bounded coherence (no round trip).
	CachedTagChecks uint64
	// Received counts invalidation messages from other processes, each
	// once it has been applied.
	Received uint64
	// Published counts invalidation messages sent; PublishErrors those
	// that could not be.
	Published, PublishErrors uint64
	// Subscriptions counts the subscriptions the server confirmed: the
	// first, and one after each loss.
	Subscriptions uint64
	// Resets counts the times the subscription was lost, and with it the
	// near tier.
	Resets uint64
}

// counters are the live counters behind Stats.
type counters struct {
	nearHits, nearMisses, bypassed          atomic.Uint64
	tagChecks, cachedTagChecks              atomic.Uint64
	received, published, publishErrs, reset atomic.Uint64
	subscriptions                           atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		NearHits: c.nearHits.Load(), NearMisses: c.nearMisses.Load(), Bypassed: c.bypassed.Load(),
		TagChecks: c.tagChecks.Load(), CachedTagChecks: c.cachedTagChecks.Load(),
		Received: c.received.Load(), Published: c.published.Load(), PublishErrors: c.publishErrs.Load(),
		Subscriptions: c.subscriptions.Load(), Resets: c.reset.Load(),
	}
}
