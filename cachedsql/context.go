package cachedsql

import (
	"context"
	"slices"
	"time"
)

// call is what a read's context asks of the cache.
type call struct {
	ttl     time.Duration // 0: the DB's
	tags    []string      // extra tags, as the caller named them
	skip    bool          // run on the database, neither read nor fill the cache
	refresh bool          // make a new result and cache it, whatever is cached
	use     bool          // cache this read even with OnlyOnRequest
}

type callKey struct{}

func callFrom(ctx context.Context) call {
	c, _ := ctx.Value(callKey{}).(call)
	return c
}

func withCall(ctx context.Context, f func(*call)) context.Context {
	c := callFrom(ctx)
	c.tags = slices.Clone(c.tags)
	f(&c)
	return context.WithValue(ctx, callKey{}, c)
}

// ContextWithTTL returns a context whose reads are cached for d instead of
// the DB's TTL. On a store that drops entries by TTL, the DB's own region
// keeps such a result for twice d, as it keeps others for twice the DB's
// TTL (a region given by [WithRegion] keeps its own StoreTTL).
func ContextWithTTL(ctx context.Context, d time.Duration) context.Context {
	return withCall(ctx, func(c *call) { c.ttl = max(d, 0) })
}

// ContextWithTags returns a context whose reads carry tags besides the
// tables they read, for [DB.InvalidateTags]:
//
//	ctx = cachedsql.ContextWithTags(ctx, "user:42")
//	db.GetContext(ctx, &u, "SELECT … WHERE id = $1", 42)
//	…
//	db.InvalidateTags(ctx, "user:42")
func ContextWithTags(ctx context.Context, tags ...string) context.Context {
	return withCall(ctx, func(c *call) { c.tags = append(c.tags, tags...) })
}

// SkipCache returns a context whose reads go to the database, without
// reading or filling the cache.
func SkipCache(ctx context.Context) context.Context {
	return withCall(ctx, func(c *call) { c.skip = true })
}

// RefreshCache returns a context whose reads run on the database and
// replace what the cache holds. A refresh asks for the cache: on a DB
// opened with [OnlyOnRequest] it needs no [UseCache].
func RefreshCache(ctx context.Context) context.Context {
	return withCall(ctx, func(c *call) { c.refresh = true })
}

// UseCache returns a context whose reads are cached even on a DB opened
// with [OnlyOnRequest].
func UseCache(ctx context.Context) context.Context {
	return withCall(ctx, func(c *call) { c.use = true })
}
