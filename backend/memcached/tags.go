package memcached

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/internal/tagmarks"
)

// A tag's state lives in two items under the key prefix: its version,
// "_tagv" + tag, a decimal number that bumps raise with incr; and its
// pending marks, "_tagp" + tag, the owners holding it and when each one's
// lease ends (see backend/internal/tagmarks). A tag memcached cannot take in a key (too
// long, spaces, control characters, empty), or one that starts with
// "sha1:", is replaced there by "sha1:" and its SHA-1, as the store's key
// mangler does for entries, whether or not mangling is on: regions pass
// tags as they are.
//
// Both items of a tag are kept on the same server (see tagSelector), so
// that the one multi-get that reads a tag's state reads its marks before
// its version, in that order, on one connection: a writer bumps before it
// releases its mark, so a reader that sees no mark sees the bump.
const (
	tagAffix        = "_tag"
	tagVersionAffix = tagAffix + "v"
	tagMarksAffix   = tagAffix + "p"
)

// Limits of the compare-and-swap loops that edit pending marks and of the
// starts of versions: how many tries, and the longest pause between two
// (each pause is random, up to a bound that doubles from tagPauseMin).
const (
	maxTagTries = 32
	tagPauseMin = 100 * time.Microsecond
	tagPauseMax = 10 * time.Millisecond
)

// marksSlack is how long a marks item outlives the longest lease it holds:
// memcached's clock ticks once a second, so an item may go up to a second
// early, and a lease is judged by the store's clock, not the server's.
const marksSlack = 2 * time.Second

// tagKey is the server key of tag's item with affix.
func (s *Store) tagKey(affix, tag string) string {
	k := s.prefix + affix + tag
	if tag == "" || len(k) > maxKeyLen || !legalKey(tag) || strings.HasPrefix(tag, manglePrefix) {
		k = s.prefix + affix + manglePrefix + backend.SHA1KeyMangler(tag)
	}
	return k
}

// tagSelector spreads keys over servers as the client's server list does,
// except that a tag's two items go where "_tag" + tag would, together.
type tagSelector struct {
	*memcache.ServerList
	tagPrefix string // the key prefix and tagAffix
}

// PickServer returns the server that holds key.
func (ts tagSelector) PickServer(key string) (net.Addr, error) {
	if rest, ok := strings.CutPrefix(key, ts.tagPrefix); ok && rest != "" && (rest[0] == 'v' || rest[0] == 'p') {
		key = ts.tagPrefix + rest[1:]
	}
	return ts.ServerList.PickServer(key)
}

// freshVersion is a version to start a lost one at: the wall clock in
// nanoseconds, and above every version this store has seen.
//
// An entry holds a version that some client started at its clock's time
// T, in nanoseconds, plus at most one per bump since. Each bump is a round
// trip to memcached, and memcached serves at most some millions of calls a
// second, so bumps cannot outrun the clock: T plus the bumps since stays
// below the time now, and a version started now is one no entry holds.
// The clocks of clients are compared here, once: a client whose clock lags
// another's by more than the life of a version could restart below it,
// hence also the check against what this store has seen; clocks kept by
// NTP agree to within milliseconds.
//
// The version is lost when memcached evicts the item (it has no expiry,
// and is read on every tagged get, so the LRU rarely picks it), on
// flush_all, and when the server restarts. A restart loses the entries on
// that server with it, but not those on other servers, nor, with a
// restartable cache (memcached -e), anything: either way the tag restarts
// from the clock.
func (s *Store) freshVersion() uint64 {
	v := uint64(max(s.now().UnixNano(), 0))
	if seen := s.tagSeen.Load(); v <= seen {
		v = seen + 1
	}
	return v
}

// saw notes that a tag had version v.
func (s *Store) saw(v uint64) {
	for {
		old := s.tagSeen.Load()
		if v <= old || s.tagSeen.CompareAndSwap(old, v) {
			return
		}
	}
}

func parseVersion(tag string, b []byte) (uint64, error) {
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: version item of tag %q holds %q, not a number; delete it to restart the tag", ErrBadTagItem, tag, b)
	}
	return v, nil
}

// startVersion starts tag's missing version with add and returns it, or,
// when another client started it first (add refused), that client's.
func (s *Store) startVersion(ctx context.Context, tag string) (uint64, error) {
	key := s.tagKey(tagVersionAffix, tag)
	for try := range maxTagTries {
		if err := tagPause(ctx, try); err != nil {
			return 0, err
		}
		v := s.freshVersion()
		err := s.retryStale(func() error {
			return s.client.Add(&memcache.Item{Key: key, Value: strconv.AppendUint(nil, v, 10)})
		})
		if err == nil {
			s.saw(v)
			return v, nil
		}
		if !errors.Is(err, memcache.ErrNotStored) {
			return 0, s.opError("add tag version", tag, err)
		}
		var it *memcache.Item
		err = s.retryStale(func() (err error) { it, err = s.client.Get(key); return err })
		if errors.Is(err, memcache.ErrCacheMiss) {
			continue // lost again at once: start it anew
		}
		if err != nil {
			return 0, s.opError("get tag version", tag, err)
		}
		if v, err = parseVersion(tag, it.Value); err != nil {
			return 0, err
		}
		s.saw(v)
		return v, nil
	}
	return 0, fmt.Errorf("%w: starting the version of tag %q, lost again %d times in a row", ErrTagContention, tag, maxTagTries)
}

// bump gives tag a new version: incr, or, when the version is lost, a
// start, which is itself a version no one has read. When another client
// starts it first, that client's version may have been read already, so
// the bump goes on to incr it.
func (s *Store) bump(ctx context.Context, tag string) error {
	key := s.tagKey(tagVersionAffix, tag)
	for try := range maxTagTries {
		if err := tagPause(ctx, try); err != nil {
			return err
		}
		var v uint64
		err := s.retryStale(func() (err error) { v, err = s.client.Increment(key, 1); return err })
		if err == nil {
			s.saw(v)
			return nil
		}
		if !errors.Is(err, memcache.ErrCacheMiss) {
			return s.opError("incr tag version", tag, err)
		}
		v = s.freshVersion()
		err = s.retryStale(func() error {
			return s.client.Add(&memcache.Item{Key: key, Value: strconv.AppendUint(nil, v, 10)})
		})
		if err == nil {
			s.saw(v)
			return nil
		}
		if !errors.Is(err, memcache.ErrNotStored) {
			return s.opError("add tag version", tag, err)
		}
	}
	return fmt.Errorf("%w: bumping tag %q, its version came and went %d times in a row", ErrTagContention, tag, maxTagTries)
}

// tagPause waits before try (none before the first): a random time up to
// a bound that doubles with each try, so that clients contending for an
// item spread out.
func tagPause(ctx context.Context, try int) error {
	if try == 0 {
		return ctx.Err()
	}
	bound := min(tagPauseMin<<min(try-1, 16), tagPauseMax)
	t := time.NewTimer(rand.N(bound) + 1)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// readTags reads the states of tags and, when sk is not empty, the item
// under sk, in one multi-get: for each server, every marks item, then
// every version item, then the entry. Versions that are missing are
// started afterwards, in a second round trip.
func (s *Store) readTags(ctx context.Context, tags []string, sk string) ([]backend.TagState, *memcache.Item, error) {
	states := make([]backend.TagState, len(tags))
	keys := make([]string, 0, 2*len(tags)+1)
	for _, tag := range tags {
		keys = append(keys, s.tagKey(tagMarksAffix, tag))
	}
	for _, tag := range tags {
		keys = append(keys, s.tagKey(tagVersionAffix, tag))
	}
	if sk != "" {
		keys = append(keys, sk)
	}
	if len(keys) == 0 {
		return states, nil, nil
	}
	var items map[string]*memcache.Item
	err := s.retryStale(func() (err error) { items, err = s.client.GetMulti(keys); return err })
	if err != nil {
		return nil, nil, fmt.Errorf("memcached %s: get_multi of %d tags: %w", strings.Join(s.servers, ","), len(tags), err)
	}
	now := s.clock.Now()
	for i, tag := range tags {
		if it := items[keys[i]]; it != nil {
			m, err := tagmarks.Decode(it.Value)
			if err != nil {
				return nil, nil, fmt.Errorf("%w: marks item of tag %q: %v; the next MarkPending or ReleasePending of the tag replaces it", ErrBadTagItem, tag, err)
			}
			states[i].Pending = m.Pending(now)
		}
		if it := items[keys[len(tags)+i]]; it != nil {
			if states[i].Version, err = parseVersion(tag, it.Value); err != nil {
				return nil, nil, err
			}
			s.saw(states[i].Version)
		} else if states[i].Version, err = s.startVersion(ctx, tag); err != nil {
			return nil, nil, err
		}
	}
	if sk == "" {
		return states, nil, nil
	}
	return states, items[sk], nil
}

// TagStates returns the state of each tag, in one round trip (one per
// server the tags live on), and a second for tags whose version must be
// started.
func (s *Store) TagStates(ctx context.Context, tags []string) ([]backend.TagState, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	states, _, err := s.readTags(ctx, tags, "")
	return states, err
}

// GetTagged returns the entry under key and the states of tags, read in
// one round trip (one per server they live on), and a second for tags
// whose version must be started.
func (s *Store) GetTagged(ctx context.Context, key string, tags []string) (backend.Entry, bool, []backend.TagState, error) {
	if err := s.ready(ctx); err != nil {
		return backend.Entry{}, false, nil, err
	}
	sk, err := s.serverKey(key)
	if err != nil {
		return backend.Entry{}, false, nil, err
	}
	states, it, err := s.readTags(ctx, tags, sk)
	if err != nil {
		return backend.Entry{}, false, nil, err
	}
	if it == nil {
		return backend.Entry{}, false, states, nil
	}
	e, err := backend.UnmarshalRecord(it.Value)
	if err != nil {
		return backend.Entry{}, false, states, nil
	}
	return e, true, states, nil
}

// BumpTags gives each tag a new version, one incr each.
func (s *Store) BumpTags(ctx context.Context, tags []string) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	for _, tag := range tags {
		if err := s.bump(ctx, tag); err != nil {
			return err
		}
	}
	return nil
}

// MarkPending marks tags as held by owner until ReleasePending or the end
// of lease, by [Options.Clock]. Each tag's marks item is read with gets and
// written back with a compare-and-swap, again while other clients change
// it in between, up to 32 times (then an error wrapping
// [ErrTagContention]); lapsed owners are dropped on the way.
func (s *Store) MarkPending(ctx context.Context, tags []string, owner string, lease time.Duration) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	for _, tag := range tags {
		err := s.editMarks(ctx, tag, func(m tagmarks.Marks, now time.Time) (tagmarks.Marks, bool) {
			return m.With(owner, now.Add(lease)), true
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// ReleasePending removes owner's marks from tags. With bump, it first
// bumps every tag, and only then edits the marks, so that a reader never
// sees a tag released but not bumped; if a bump fails, no mark is
// released, and the marks lapse at the end of their lease.
func (s *Store) ReleasePending(ctx context.Context, tags []string, owner string, bump bool) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if bump {
		for _, tag := range tags {
			if err := s.bump(ctx, tag); err != nil {
				return err
			}
		}
	}
	for _, tag := range tags {
		err := s.editMarks(ctx, tag, func(m tagmarks.Marks, _ time.Time) (tagmarks.Marks, bool) {
			return m.Without(owner)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// editMarks changes tag's marks with edit, which gets the live marks and
// reports whether it changed them: a gets, then a compare-and-swap (or an
// add, when the item is missing), tried again while another client changes
// the item in between. The item is kept a little past its longest lease,
// and dropped when no mark is left.
func (s *Store) editMarks(ctx context.Context, tag string, edit func(m tagmarks.Marks, now time.Time) (tagmarks.Marks, bool)) error {
	key := s.tagKey(tagMarksAffix, tag)
	for try := range maxTagTries {
		if err := tagPause(ctx, try); err != nil {
			return err
		}
		var it *memcache.Item
		err := s.retryStale(func() (err error) { it, err = s.client.Get(key); return err })
		missing := errors.Is(err, memcache.ErrCacheMiss)
		if err != nil && !missing {
			return s.opError("get tag marks", tag, err)
		}
		var m tagmarks.Marks
		bad := false
		if !missing {
			// Marks that do not decode are replaced: they cannot be honoured.
			m, err = tagmarks.Decode(it.Value)
			bad = err != nil
		}
		now := s.clock.Now()
		before := len(m)
		m = m.Live(now)
		m, changed := edit(m, now)
		if !changed && !bad && len(m) == before {
			return nil
		}
		if missing {
			if len(m) == 0 {
				return nil
			}
			err = s.retryStale(func() error {
				return s.client.Add(&memcache.Item{Key: key, Value: m.Encode(), Expiration: s.marksExpiry(m, now)})
			})
		} else {
			it.Value, it.Expiration = m.Encode(), s.marksExpiry(m, now)
			err = s.retryStale(func() error { return s.client.CompareAndSwap(it) })
		}
		switch {
		case err == nil:
			return nil
		case errors.Is(err, memcache.ErrNotStored), errors.Is(err, memcache.ErrCASConflict), errors.Is(err, memcache.ErrCacheMiss):
			continue // another client got there first: read again
		default:
			return s.opError("write tag marks", tag, err)
		}
	}
	return fmt.Errorf("%w: marks of tag %q changed under %d tries in a row", ErrTagContention, tag, maxTagTries)
}

// marksExpiry is the expiry of a marks item holding m: a little past its
// longest lease, or at once when it holds none.
func (s *Store) marksExpiry(m tagmarks.Marks, now time.Time) int32 {
	if len(m) == 0 {
		return -1 // memcached drops an item with a negative expiry at once
	}
	return expiry(m.Longest(now)+marksSlack, s.now())
}

var (
	_ backend.TagStore     = (*Store)(nil)
	_ backend.TaggedGetter = (*Store)(nil)
)
