package file

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/internal/tagmarks"
)

// Tags live in their own bucket of the data file, two records per tag:
// 'v' + tag, its version (8 bytes, big endian), and 'p' + tag, its pending
// marks (see backend/internal/tagmarks), deleted when the last owner leaves. A tag too long
// for a bbolt key is kept under 'V' or 'P' and its SHA-256.
//
// Every version the store gives out, a tag's first or a bump, is the
// bucket's next sequence number, which only grows and is kept in the file.
// A tag whose record is gone thus restarts above every version any entry
// in the file can hold. Every call is one transaction, so a release with a
// bump is one atomic step, and a read sees marks and versions as of one
// moment.

// tagKey is the key of tag's record of kind 'v' or 'p'.
func tagKey(kind byte, tag string) []byte {
	if 1+len(tag) <= bolt.MaxKeySize {
		return append([]byte{kind}, tag...)
	}
	sum := sha256.Sum256([]byte(tag))
	return append([]byte{kind - 'a' + 'A'}, sum[:]...)
}

// readTagStates fills states with the tags' states in tx (nil: the file
// is gone) as of now, and returns the indexes of tags that have no
// version yet.
func readTagStates(tx *bolt.Tx, tags []string, now time.Time, states []backend.TagState) (missing []int, err error) {
	var tb *bolt.Bucket
	if tx != nil {
		tb = tx.Bucket(tagsBucket)
	}
	for i, tag := range tags {
		if tb == nil {
			missing = append(missing, i)
			continue
		}
		if v := tb.Get(tagKey('p', tag)); v != nil {
			m, err := tagmarks.Decode(v)
			if err != nil {
				return nil, fmt.Errorf("%w: marks of tag %s: %v; the next MarkPending or ReleasePending of the tag replaces them", ErrBadTagRecord, quote(tag), err)
			}
			states[i].Pending = m.Pending(now)
		}
		v := tb.Get(tagKey('v', tag))
		switch {
		case v == nil:
			missing = append(missing, i)
		case len(v) != 8:
			return nil, fmt.Errorf("%w: version of tag %s is %d bytes, not 8; BumpTags replaces it", ErrBadTagRecord, quote(tag), len(v))
		default:
			states[i].Version = binary.BigEndian.Uint64(v)
		}
	}
	return missing, nil
}

// newVersion gives tag the bucket's next sequence number as its version.
func newVersion(tb *bolt.Bucket, tag string) (uint64, error) {
	if tb.Sequence() == 0 {
		// A new bucket (a new or recreated file): start above any version
		// an earlier file can have given out.
		if err := tb.SetSequence(uint64(time.Now().UnixNano())); err != nil {
			return 0, err
		}
	}
	v, err := tb.NextSequence()
	if err != nil {
		return 0, err
	}
	return v, tb.Put(tagKey('v', tag), binary.BigEndian.AppendUint64(nil, v))
}

// startVersions gives the tags at missing a first version, unless another
// call did meanwhile, and notes it in states.
func (s *Store) startVersions(ctx context.Context, tags []string, missing []int, states []backend.TagState) error {
	return s.update(ctx, fmt.Sprintf("start %d tag versions", len(missing)), func(tx *bolt.Tx, _ *bolt.Bucket) error {
		tb, err := tx.CreateBucketIfNotExists(tagsBucket)
		if err != nil {
			return err
		}
		for _, i := range missing {
			if v := tb.Get(tagKey('v', tags[i])); len(v) == 8 {
				states[i].Version = binary.BigEndian.Uint64(v)
				continue
			}
			if states[i].Version, err = newVersion(tb, tags[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// TagStates returns the state of each tag, read in one transaction, and a
// second for tags whose version must be started.
func (s *Store) TagStates(ctx context.Context, tags []string) ([]backend.TagState, error) {
	states := make([]backend.TagState, len(tags))
	var missing []int
	err := s.viewTx(ctx, fmt.Sprintf("read %d tags", len(tags)), func(tx *bolt.Tx) (err error) {
		missing, err = readTagStates(tx, tags, s.clock.Now(), states)
		return err
	})
	if err == nil && len(missing) > 0 {
		err = s.startVersions(ctx, tags, missing, states)
	}
	if err != nil {
		return nil, err
	}
	return states, nil
}

// GetTagged returns the entry under key and the states of tags, read in one
// transaction, and a second for tags whose version must be started.
func (s *Store) GetTagged(ctx context.Context, key string, tags []string) (backend.Entry, bool, []backend.TagState, error) {
	var (
		e       backend.Entry
		ok      bool
		missing []int
	)
	states := make([]backend.TagState, len(tags))
	err := s.viewTx(ctx, "get "+quote(key)+" with tags", func(tx *bolt.Tx) (err error) {
		now := s.clock.Now()
		if missing, err = readTagStates(tx, tags, now, states); err != nil || tx == nil {
			return err
		}
		if b := tx.Bucket(dataBucket); b != nil {
			if v := b.Get(dbKey(key)); v != nil {
				e, ok = decode(v, now)
			}
		}
		return nil
	})
	if err == nil && len(missing) > 0 {
		err = s.startVersions(ctx, tags, missing, states)
	}
	if err != nil {
		return backend.Entry{}, false, nil, err
	}
	return e, ok, states, nil
}

// updateTags runs fn on the tags bucket in one write transaction.
func (s *Store) updateTags(ctx context.Context, op string, fn func(tb *bolt.Bucket) error) error {
	return s.update(ctx, op, func(tx *bolt.Tx, _ *bolt.Bucket) error {
		tb, err := tx.CreateBucketIfNotExists(tagsBucket)
		if err != nil {
			return err
		}
		return fn(tb)
	})
}

// BumpTags gives each tag a new version, in one transaction.
func (s *Store) BumpTags(ctx context.Context, tags []string) error {
	return s.updateTags(ctx, fmt.Sprintf("bump %d tags", len(tags)), func(tb *bolt.Bucket) error {
		for _, tag := range tags {
			if _, err := newVersion(tb, tag); err != nil {
				return err
			}
		}
		return nil
	})
}

// MarkPending marks tags as held by owner until ReleasePending or the end
// of lease, by [Options.Clock], in one transaction; lapsed owners are
// dropped on the way.
func (s *Store) MarkPending(ctx context.Context, tags []string, owner string, lease time.Duration) error {
	return s.updateTags(ctx, fmt.Sprintf("mark %d tags pending", len(tags)), func(tb *bolt.Bucket) error {
		now := s.clock.Now()
		for _, tag := range tags {
			if err := editMarks(tb, tag, now, func(m tagmarks.Marks) tagmarks.Marks { return m.With(owner, now.Add(lease)) }); err != nil {
				return err
			}
		}
		return nil
	})
}

// ReleasePending removes owner's marks from tags and, with bump, gives
// each a new version, all in one transaction: no reader sees a tag
// released but not bumped.
func (s *Store) ReleasePending(ctx context.Context, tags []string, owner string, bump bool) error {
	return s.updateTags(ctx, fmt.Sprintf("release %d tags", len(tags)), func(tb *bolt.Bucket) error {
		now := s.clock.Now()
		for _, tag := range tags {
			if bump {
				if _, err := newVersion(tb, tag); err != nil {
					return err
				}
			}
			if err := editMarks(tb, tag, now, func(m tagmarks.Marks) tagmarks.Marks { m, _ = m.Without(owner); return m }); err != nil {
				return err
			}
		}
		return nil
	})
}

// editMarks replaces tag's marks by edit of its live ones; marks that do
// not decode are replaced, as they cannot be honoured.
func editMarks(tb *bolt.Bucket, tag string, now time.Time, edit func(tagmarks.Marks) tagmarks.Marks) error {
	k := tagKey('p', tag)
	var m tagmarks.Marks
	if v := tb.Get(k); v != nil {
		m, _ = tagmarks.Decode(v)
	}
	m = edit(m.Live(now))
	if len(m) == 0 {
		return tb.Delete(k)
	}
	return tb.Put(k, m.Encode())
}

var (
	_ backend.TagStore     = (*Store)(nil)
	_ backend.TaggedGetter = (*Store)(nil)
)
