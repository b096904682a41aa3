package file

import (
	"context"
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ExpiresAt reads the expiry stored with key's record, for tests of TTLs:
// ok is false when the key is not in the file; a zero time means none.
func (s *Store) ExpiresAt(ctx context.Context, key string) (exp time.Time, ok bool, err error) {
	err = s.view(ctx, "test", func(b *bolt.Bucket) error {
		if b == nil {
			return nil
		}
		v := b.Get(dbKey(key))
		if len(v) < expiryLen {
			return nil
		}
		ok = true
		if n := int64(binary.BigEndian.Uint64(v)); n != 0 {
			exp = time.Unix(0, n)
		}
		return nil
	})
	return exp, ok, err
}

// RawLen counts the records in the file, expired ones included.
func (s *Store) RawLen(ctx context.Context) (n int, err error) {
	err = s.view(ctx, "test", func(b *bolt.Bucket) error {
		if b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n, err
}

// PutRaw stores v as key's value as it is, as a foreign writer would.
func (s *Store) PutRaw(ctx context.Context, key string, v []byte) error {
	return s.update(ctx, "test", func(_ *bolt.Tx, b *bolt.Bucket) error { return b.Put(dbKey(key), v) })
}

// LockPath returns the path of key's lock file.
func (s *Store) LockPath(key string) string { return s.lockPath(key) }

// RWLockPath returns the path of the read-write lock file.
func (s *Store) RWLockPath() string { return s.rwPath }

// ForgetTag deletes tag's version record, as losing the record would.
func (s *Store) ForgetTag(ctx context.Context, tag string) error {
	return s.update(ctx, "test", func(tx *bolt.Tx, _ *bolt.Bucket) error {
		if tb := tx.Bucket(tagsBucket); tb != nil {
			return tb.Delete(tagKey('v', tag))
		}
		return nil
	})
}

// PutRawTag stores v as tag's record of kind 'v' (version) or 'p' (marks)
// as it is, as a foreign writer would.
func (s *Store) PutRawTag(ctx context.Context, kind byte, tag string, v []byte) error {
	return s.update(ctx, "test", func(tx *bolt.Tx, _ *bolt.Bucket) error {
		tb, err := tx.CreateBucketIfNotExists(tagsBucket)
		if err != nil {
			return err
		}
		return tb.Put(tagKey(kind, tag), v)
	})
}

// HasTagMarks reports whether tag has a marks record in the file.
func (s *Store) HasTagMarks(ctx context.Context, tag string) (ok bool, err error) {
	err = s.viewTx(ctx, "test", func(tx *bolt.Tx) error {
		if tx != nil {
			if tb := tx.Bucket(tagsBucket); tb != nil {
				ok = tb.Get(tagKey('p', tag)) != nil
			}
		}
		return nil
	})
	return ok, err
}
