package tiered

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dogpile-go/dogpile/backend"
)

// tagCache holds tag states read from Redis, in bounded coherence. A state
// is dropped when a message says the tag changed, when the subscription is
// lost, and once it is older than MaxTagAge. Pending states are never
// cached: a writer's mark may lapse without a message.
type tagCache struct {
	m sync.Map     // tag → cachedTag
	n atomic.Int64 // tags added since the last clear, an upper bound on the size
}

type cachedTag struct {
	version uint64
	at      int64 // Unix nanoseconds, by Options.Clock, when it was read
}

func (c *tagCache) clear() {
	c.m.Clear()
	c.n.Store(0)
}

// tagTokens is begin for tags. It also returns the time the states about
// to be read will count as read at: before the read, so that MaxTagAge
// counts from a moment they were surely current.
func (s *Store) tagTokens(tags []string) ([]token, int64) {
	at := s.o.Clock.Now().UnixNano()
	toks := make([]token, len(tags))
	epoch := s.epoch.Load()
	healthy := s.healthy.Load()
	for i, tag := range tags {
		j := s.stripe(tag)
		toks[i] = token{stripe: j, seq: s.tagStripes.seq[j].Load(), epoch: epoch, near: healthy}
	}
	return toks, at
}

// keepTags caches states read from Redis after toks were taken, by the
// same rule as [Store.keep].
func (s *Store) keepTags(tags []string, toks []token, at int64, states []backend.TagState) {
	for i, tag := range tags {
		if !toks[i].near {
			continue
		}
		if states[i].Pending {
			s.dropTag(tag)
			continue
		}
		s.keepTag(tag, toks[i], cachedTag{version: states[i].Version, at: at})
	}
}

// keepTag caches one tag's state by the rule of [Store.keep].
func (s *Store) keepTag(tag string, tok token, st cachedTag) {
	s.tagStripes.keep(&s.epoch, tok, func() {
		if _, had := s.tags.m.Swap(tag, st); !had {
			if s.tags.n.Add(1) > int64(s.o.MaxCachedTags) {
				s.tags.clear() // the new state goes too: only a miss
			}
		}
	}, func() { s.tags.m.Delete(tag) })
}

// dropTag drops tag's cached state after a change to it in Redis.
func (s *Store) dropTag(tag string) {
	s.tagStripes.drop(s.stripe(tag), func() { s.tags.m.Delete(tag) })
}

// cachedStates returns the cached states of tags when every one is cached
// and young enough.
func (s *Store) cachedStates(tags []string) ([]backend.TagState, bool) {
	if s.o.Coherence != Bounded || !s.healthy.Load() {
		return nil, false
	}
	oldest := s.o.Clock.Now().UnixNano() - int64(s.o.MaxTagAge)
	states := make([]backend.TagState, len(tags))
	for i, tag := range tags {
		v, ok := s.tags.m.Load(tag)
		if !ok {
			return nil, false
		}
		ct := v.(cachedTag)
		if ct.at < oldest {
			return nil, false
		}
		states[i].Version = ct.version
	}
	return states, true
}

// TagStates returns the state of each tag: from Redis, or in bounded
// coherence from the cache when it holds every one of them.
func (s *Store) TagStates(ctx context.Context, tags []string) ([]backend.TagState, error) {
	if states, ok := s.cachedStates(tags); ok {
		return states, nil
	}
	return s.farTagStates(ctx, tags)
}

// farTagStates reads tags' states from Redis, caching them in bounded
// coherence.
func (s *Store) farTagStates(ctx context.Context, tags []string) ([]backend.TagState, error) {
	if s.o.Coherence != Bounded {
		return s.far.TagStates(ctx, tags)
	}
	toks, at := s.tagTokens(tags)
	states, err := s.far.TagStates(ctx, tags)
	if err == nil {
		s.keepTags(tags, toks, at, states)
	}
	return states, err
}

// GetTagged reads key and the states of tags. A near hit is checked
// against the tags' states in Redis, read in one round trip without the
// payload (in bounded coherence, against cached states when there are
// some, with no round trip); when they show it invalidated, the entry is
// read from Redis, where another process may have stored a valid one.
// Otherwise the entry and the states come from Redis in one round trip.
func (s *Store) GetTagged(ctx context.Context, key string, tags []string) (backend.Entry, bool, []backend.TagState, error) {
	if e, ok := s.nearGet(key); ok {
		states, cached := s.cachedStates(tags)
		if cached {
			s.stats.cachedTagChecks.Add(1)
		} else {
			s.stats.tagChecks.Add(1)
			var err error
			if states, err = s.farTagStates(ctx, tags); err != nil {
				return backend.Entry{}, false, nil, err
			}
		}
		if backend.AnyPending(states) || backend.TagsMatch(e.Meta.Tags, tags, states) {
			return e, true, states, nil
		}
		// Invalidated: drop the near copy and look in Redis.
		s.dropKey(key)
	}
	tok := s.begin(key)
	var (
		toks []token
		at   int64
	)
	if s.o.Coherence == Bounded {
		toks, at = s.tagTokens(tags)
	}
	e, left, ok, states, err := s.far.GetTaggedWithTTL(ctx, key, tags)
	if err != nil {
		return backend.Entry{}, false, nil, err
	}
	if toks != nil {
		s.keepTags(tags, toks, at, states)
	}
	// An entry its tags already invalidate is not worth keeping near.
	if ok && tok.near && (backend.AnyPending(states) || backend.TagsMatch(e.Meta.Tags, tags, states)) {
		s.keep(key, tok, e, left)
	}
	return e, ok, states, nil
}

// BumpTags gives each tag a new version in Redis, drops the tags' cached
// states, and tells other processes.
func (s *Store) BumpTags(ctx context.Context, tags []string) error {
	return s.tagOp(ctx, tags, s.far.BumpTags(ctx, tags))
}

// MarkPending marks tags as held by owner in Redis, and tells other
// processes.
func (s *Store) MarkPending(ctx context.Context, tags []string, owner string, lease time.Duration) error {
	return s.tagOp(ctx, tags, s.far.MarkPending(ctx, tags, owner, lease))
}

// ReleasePending removes owner's marks in Redis (bumping first when asked),
// drops the tags' cached states, and tells other processes.
func (s *Store) ReleasePending(ctx context.Context, tags []string, owner string, bump bool) error {
	return s.tagOp(ctx, tags, s.far.ReleasePending(ctx, tags, owner, bump))
}

// tagOp finishes a tag operation that Redis answered with err: the cached
// states go and other processes are told whatever the outcome, since Redis
// may have applied it (see publishFailed). Messages are sent in strict
// coherence too, for processes sharing the channel in bounded coherence.
func (s *Store) tagOp(ctx context.Context, tags []string, err error) error {
	for _, tag := range tags {
		s.dropTag(tag)
	}
	switch {
	case len(tags) == 0:
		return err
	case err != nil:
		return s.publishFailed(ctx, kindTags, tags, err)
	}
	return s.publish(ctx, kindTags, tags)
}

var (
	_ backend.TagStore     = (*Store)(nil)
	_ backend.TaggedGetter = (*Store)(nil)
)
