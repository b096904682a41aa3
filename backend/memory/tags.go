package memory

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dogpile-go/dogpile/backend"
)

// tagTable keeps a memory store's tag versions and pending marks. Tags are
// kept for the store's life: their number is that of the tables and groups
// an application tags by, not of its keys.
type tagTable struct {
	seq  atomic.Uint64 // every version this store ever gave out; only grows
	tags sync.Map      // string → *tagState
	now  func() time.Time
}

type tagState struct {
	version atomic.Uint64
	// marks is len(pending), kept under mu: a reader that finds it zero
	// knows the tag is not pending without taking mu, which every tagged
	// hit on every core would otherwise take (cachedsql's all-tag is on
	// every read).
	marks   atomic.Int64
	mu      sync.Mutex
	pending map[string]time.Time // owner → end of its lease; guarded by mu
}

func (t *tagTable) state(tag string) *tagState {
	if s, ok := t.tags.Load(tag); ok {
		return s.(*tagState)
	}
	s := &tagState{}
	// A new tag's first version comes from the same sequence as every
	// bump, so it is one no entry of this store can hold.
	s.version.Store(t.seq.Add(1))
	actual, _ := t.tags.LoadOrStore(tag, s)
	return actual.(*tagState)
}

// pendingNow reports whether an owner's lease on s is still running,
// dropping lapsed ones.
func (s *tagState) pendingNow(now time.Time) bool {
	if s.marks.Load() == 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for owner, end := range s.pending {
		if !now.Before(end) {
			delete(s.pending, owner)
		}
	}
	s.marks.Store(int64(len(s.pending)))
	return len(s.pending) > 0
}

// TagStates returns the state of each tag.
func (s *Store) TagStates(_ context.Context, tags []string) ([]backend.TagState, error) {
	now := s.tags.now()
	out := make([]backend.TagState, len(tags))
	for i, tag := range tags {
		st := s.tags.state(tag)
		// Pending is read before the version: a writer bumps before it
		// clears its mark (and its count), so a reader that sees no mark
		// sees the bump.
		pending := st.pendingNow(now)
		out[i] = backend.TagState{Version: st.version.Load(), Pending: pending}
	}
	return out, nil
}

// BumpTags gives each tag a new version.
func (s *Store) BumpTags(_ context.Context, tags []string) error {
	for _, tag := range tags {
		s.tags.state(tag).version.Store(s.tags.seq.Add(1))
	}
	return nil
}

// MarkPending marks tags as held by owner until ReleasePending or the end
// of lease.
func (s *Store) MarkPending(_ context.Context, tags []string, owner string, lease time.Duration) error {
	end := s.tags.now().Add(lease)
	for _, tag := range tags {
		st := s.tags.state(tag)
		st.mu.Lock()
		if st.pending == nil {
			st.pending = make(map[string]time.Time)
		}
		st.pending[owner] = end
		st.marks.Store(int64(len(st.pending)))
		st.mu.Unlock()
	}
	return nil
}

// ReleasePending removes owner's marks, bumping the tags first when asked.
func (s *Store) ReleasePending(_ context.Context, tags []string, owner string, bump bool) error {
	for _, tag := range tags {
		st := s.tags.state(tag)
		if bump {
			st.version.Store(s.tags.seq.Add(1))
		}
		st.mu.Lock()
		delete(st.pending, owner)
		st.marks.Store(int64(len(st.pending)))
		st.mu.Unlock()
	}
	return nil
}

// GetTagged returns the entry under key and the states of tags.
func (s *Store) GetTagged(ctx context.Context, key string, tags []string) (backend.Entry, bool, []backend.TagState, error) {
	states, _ := s.TagStates(ctx, tags)
	e, ok, _ := s.Get(ctx, key)
	return e, ok, states, nil
}

var (
	_ backend.TagStore     = (*Store)(nil)
	_ backend.TaggedGetter = (*Store)(nil)
)
