package backend

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// TagVersion is a tag and the version it had when an entry's value was
// read: an entry stays valid while every one of its tags keeps that version
// (see [TagStore]).
type TagVersion struct {
	Tag     string
	Version uint64
}

// TagState is a tag's state now.
type TagState struct {
	// Version changes whenever the tag is invalidated.
	Version uint64
	// Pending is set while a writer holds the tag (a transaction wrote to
	// it and has not finished): nobody serves or fills entries with the
	// tag meanwhile.
	Pending bool
}

// TagStore is implemented by stores that keep a version per tag, for group
// invalidation: an entry records the versions of its tags, read before its
// value was made, and is valid only while they are all unchanged. Bumping a
// tag invalidates, at once and everywhere, every entry that carries it.
//
// Versions are compared for equality only, never across processes' clocks.
// A tag whose version the store lost (evicted, flushed, never written) must
// come back with a version no entry made before can hold, so that a lost
// version never validates an old entry: stores draw new versions from a
// sequence that only grows (the memory store) or start them from the
// server's time at a resolution no run of bumps can catch up with (Redis).
//
// Pending marks have an owner and a lease: a writer that dies leaves marks
// that lapse after the lease. Without a TagStore, a region cannot take
// tagged calls ([ErrNoTagStore]).
type TagStore interface {
	// TagStates returns the state of each tag, in order.
	TagStates(ctx context.Context, tags []string) ([]TagState, error)
	// BumpTags gives each tag a new version.
	BumpTags(ctx context.Context, tags []string) error
	// MarkPending marks tags as held by owner for at most lease (a second
	// call with the same owner extends the lease).
	MarkPending(ctx context.Context, tags []string, owner string, lease time.Duration) error
	// ReleasePending removes owner's marks from tags; with bump, it first
	// gives each tag a new version, so that no reader sees the tag neither
	// pending nor bumped.
	ReleasePending(ctx context.Context, tags []string, owner string, bump bool) error
}

// TaggedGetter is implemented by tag stores that read an entry and the
// states of tags together, in one round trip.
//
// Without it, [GetTagged] calls Get and then [TagStore.TagStates].
type TaggedGetter interface {
	GetTagged(ctx context.Context, key string, tags []string) (Entry, bool, []TagState, error)
}

// TagStoreOf returns b's tag store, or an error wrapping [ErrNoTagStore].
func TagStoreOf(b Backend) (TagStore, error) {
	if ts, ok := b.(TagStore); ok {
		return ts, nil
	}
	return nil, fmt.Errorf("%w: %T", ErrNoTagStore, ActualBackend(b))
}

// GetTagged reads key and the states of tags from b, in one round trip when
// b is a [TaggedGetter].
func GetTagged(ctx context.Context, b Backend, key string, tags []string) (Entry, bool, []TagState, error) {
	if tg, ok := b.(TaggedGetter); ok {
		return tg.GetTagged(ctx, key, tags)
	}
	ts, err := TagStoreOf(b)
	if err != nil {
		return Entry{}, false, nil, err
	}
	e, ok, err := b.Get(ctx, key)
	if err != nil {
		return Entry{}, false, nil, err
	}
	states, err := ts.TagStates(ctx, tags)
	if err != nil {
		return Entry{}, false, nil, err
	}
	return e, ok, states, nil
}

// TagsMatch reports whether an entry's recorded tag versions are the
// current ones: the same tags, in the same order, each at its current
// version, and none pending.
func TagsMatch(recorded []TagVersion, tags []string, states []TagState) bool {
	if len(recorded) != len(tags) || len(states) != len(tags) {
		return false
	}
	for i, tv := range recorded {
		if tv.Tag != tags[i] || states[i].Pending || tv.Version != states[i].Version {
			return false
		}
	}
	return true
}

// AnyPending reports whether any of states is pending.
func AnyPending(states []TagState) bool {
	return slices.ContainsFunc(states, func(s TagState) bool { return s.Pending })
}
