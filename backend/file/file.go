package file

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/clock"
	"github.com/dogpile-go/dogpile/serializer"
)

// Options configure a [Store]. The zero value of every field but Filename
// means its default.
type Options struct {
	// Filename is the path of the data file, a bbolt database, created on
	// first use in a directory that must exist. Required.
	Filename string

	// RWLockFile is the path of the file whose flock every operation takes
	// before it opens the data file: shared to read, exclusive to write
	// (dogpile's rw_lockfile). Default: Filename + ".rw.lock".
	RWLockFile string

	// LockDir is the directory of the creation locks' files, one per key,
	// created when missing. Default: Filename + ".locks".
	LockDir string

	// DisableLock turns off the creation lock ([Store.Mutex] returns nil),
	// leaving the region's in-process lock only (dogpile's
	// dogpile_lockfile=False). Default: the lock is on.
	DisableLock bool

	// Timeout bounds how long an operation waits for other processes to
	// let go of the data file; past it the operation fails with an error
	// wrapping [ErrBusy]. Default: 5s.
	Timeout time.Duration

	// LockWait is the first pause between attempts of [Mutex.Lock]; each
	// pause doubles, with jitter, up to LockWaitMax. Default: 5ms.
	LockWait time.Duration

	// LockWaitMax is the longest pause between attempts to take a
	// creation lock. Default: 100ms (and at least LockWait).
	LockWaitMax time.Duration

	// LockBlockingTimeout, when above zero, bounds how long Lock waits in
	// all; past it Lock returns an error wrapping [backend.ErrLockTimeout].
	// Default: no bound but the caller's context.
	LockBlockingTimeout time.Duration

	// PurgeInterval is how often a write also deletes every expired entry
	// from the file, at most; the time of the last purge is kept in the
	// file, so that of all the processes sharing it one purges per
	// interval. Negative: never (call [Store.Purge]). Default: 10 minutes.
	PurgeInterval time.Duration

	// NoSync skips the fsync that ends each write. A process crash loses
	// nothing either way; a power failure may then lose or corrupt the
	// file, which for a cache may be a fair price for writes some hundred
	// times faster. Default: sync.
	NoSync bool

	// FileMode is the permission of the files the store creates.
	// Default: 0o644.
	FileMode os.FileMode

	// Serializer is the serializer the store recommends to the region.
	// Default: [serializer.Default].
	Serializer backend.Serializer

	// Clock is what TTLs and the leases of pending tag marks
	// ([Store.MarkPending]) are measured by. Default: [clock.System].
	Clock clock.Clock
}

// Defaults of [Options].
const (
	DefaultTimeout       = 5 * time.Second
	DefaultLockWait      = 5 * time.Millisecond
	DefaultLockWaitMax   = 100 * time.Millisecond
	DefaultPurgeInterval = 10 * time.Minute
	DefaultFileMode      = os.FileMode(0o644)
)

var (
	dataBucket = []byte("dogpile")
	metaBucket = []byte("dogpile.meta")
	tagsBucket = []byte("dogpile.tags") // see tags.go
	purgedKey  = []byte("purged_at")    // Unix nanoseconds of the last purge
)

// Store is a bytes store in one bbolt file, shared by every process that
// opens the same file. It is safe for concurrent use by multiple goroutines.
//
// It does not keep the data file open: bbolt holds an exclusive flock on a
// file opened for writing for as long as it is open, and a reader that kept
// it open would not see other processes' writes safely. Each operation
// (each Get, Set, GetMulti, …) takes the read-write lock file's flock, opens
// the data file (read-only to read), runs one transaction and closes it.
type Store struct {
	path     string
	rwPath   string
	lockDir  string
	mode     os.FileMode
	timeout  time.Duration
	purgeInt time.Duration
	noSync   bool
	ser      backend.Serializer
	clock    clock.Clock
	lock     lockConfig

	// mu orders this process's operations: readers share the file,
	// writers have it alone. Across processes, rw does the same.
	mu sync.RWMutex
	rw *rwLock

	closed atomic.Bool
	done   chan struct{} // closed by Close: lock waits end
}

// lockConfig is the creation lock's settings; the lock is off when
// !enabled.
type lockConfig struct {
	enabled   bool
	wait      time.Duration
	waitMax   time.Duration
	blockWait time.Duration // 0: no bound
}

// New opens (creating it when missing) the data file o.Filename, to check
// that it is a store's file, and closes it again.
func New(o Options) (*Store, error) {
	if o.Filename == "" {
		return nil, fmt.Errorf("%w: file store needs a Filename (argument \"filename\")", backend.ErrBadArgument)
	}
	for name, d := range map[string]time.Duration{
		"Timeout": o.Timeout, "LockWait": o.LockWait, "LockWaitMax": o.LockWaitMax, "LockBlockingTimeout": o.LockBlockingTimeout,
	} {
		if d < 0 {
			return nil, fmt.Errorf("%w: file store %s is %v; it must not be negative", backend.ErrBadArgument, name, d)
		}
	}
	dir := filepath.Dir(o.Filename)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%w: file store filename %q: its directory %q does not exist", backend.ErrBadArgument, o.Filename, dir)
	}
	s := &Store{
		path:     o.Filename,
		rwPath:   o.RWLockFile,
		lockDir:  o.LockDir,
		mode:     o.FileMode,
		timeout:  cmp.Or(o.Timeout, DefaultTimeout),
		purgeInt: cmp.Or(o.PurgeInterval, DefaultPurgeInterval),
		noSync:   o.NoSync,
		ser:      o.Serializer,
		clock:    o.Clock,
		lock: lockConfig{
			enabled:   !o.DisableLock,
			wait:      cmp.Or(o.LockWait, DefaultLockWait),
			waitMax:   cmp.Or(o.LockWaitMax, DefaultLockWaitMax),
			blockWait: o.LockBlockingTimeout,
		},
		done: make(chan struct{}),
	}
	s.lock.waitMax = max(s.lock.waitMax, s.lock.wait)
	if s.rwPath == "" {
		s.rwPath = o.Filename + ".rw.lock"
	}
	if s.lockDir == "" {
		s.lockDir = o.Filename + ".locks"
	}
	if s.mode == 0 {
		s.mode = DefaultFileMode
	}
	if s.ser == nil {
		s.ser = serializer.Default
	}
	if s.clock == nil {
		s.clock = clock.System
	}
	if s.lock.enabled {
		if err := os.MkdirAll(s.lockDir, dirMode(s.mode)); err != nil {
			return nil, fmt.Errorf("%w: file store lock_dir %q: %v", backend.ErrBadArgument, s.lockDir, err)
		}
	}
	rw, err := openRWLock(s.rwPath, s.mode)
	if err != nil {
		return nil, fmt.Errorf("%w: file store rw_lockfile %q: %v", backend.ErrBadArgument, s.rwPath, err)
	}
	s.rw = rw
	// One write at start: it creates the file and its buckets, and shows
	// at once a file that is not a bbolt database.
	if err := s.update(context.Background(), "open", func(*bolt.Tx, *bolt.Bucket) error { return nil }); err != nil {
		_ = rw.close()
		return nil, err
	}
	return s, nil
}

// dirMode is mode with search permission wherever it grants reading.
func dirMode(mode os.FileMode) os.FileMode {
	return mode | (mode&0o444)>>2
}

// ready reports ctx's error, or ErrClosed after Close. It is checked
// before an operation waits for the store's mu, and checked again (closed)
// once it has it: Close closes the read-write lock file as soon as the
// operations already holding mu are done, and a call that got past ready
// but was still waiting for mu would then flock a closed file.
func (s *Store) ready(ctx context.Context) error {
	if s.closed.Load() {
		return backend.ErrClosed
	}
	return ctx.Err()
}

// view runs fn in a read-only transaction on the data file; b is nil when
// the file holds no data bucket yet.
func (s *Store) view(ctx context.Context, op string, fn func(b *bolt.Bucket) error) error {
	return s.viewTx(ctx, op, func(tx *bolt.Tx) error {
		if tx == nil {
			return fn(nil)
		}
		return fn(tx.Bucket(dataBucket))
	})
}

// viewTx runs fn in a read-only transaction on the data file; tx is nil
// when the file is gone.
func (s *Store) viewTx(ctx context.Context, op string, fn func(tx *bolt.Tx) error) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed.Load() {
		return backend.ErrClosed // Close ran while this call waited for mu
	}
	if err := s.rw.lockShared(ctx, s.timeout); err != nil {
		return s.opError(op, err)
	}
	defer s.rw.unlockShared()
	db, err := bolt.Open(s.path, s.mode, &bolt.Options{ReadOnly: true, Timeout: s.timeout})
	if errors.Is(err, os.ErrNotExist) {
		return fn(nil) // removed under us: empty
	}
	if err != nil {
		return s.opError(op, err)
	}
	defer db.Close()
	if err := db.View(fn); err != nil {
		return s.opError(op, err)
	}
	return nil
}

// update runs fn in a read-write transaction on the data file, which
// commits when fn returns nil, and purges expired entries when a purge is
// due.
func (s *Store) update(ctx context.Context, op string, fn func(tx *bolt.Tx, b *bolt.Bucket) error) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return backend.ErrClosed // see viewTx
	}
	if err := s.rw.lockExclusive(ctx, s.timeout); err != nil {
		return s.opError(op, err)
	}
	defer s.rw.unlockExclusive()
	db, err := bolt.Open(s.path, s.mode, &bolt.Options{Timeout: s.timeout, NoSync: s.noSync})
	if err != nil {
		return s.opError(op, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(dataBucket)
		if err != nil {
			return err
		}
		if err := fn(tx, b); err != nil {
			return err
		}
		if s.purgeInt > 0 {
			_, err = s.purgeIfDue(tx, b)
		}
		return err
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return s.opError(op, err)
	}
	return nil
}

func (s *Store) opError(op string, err error) error {
	if errors.Is(err, backend.ErrClosed) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("file store %s: %s: %w", s.path, op, err)
}

// The value stored in the file: the expiry, then the record.
//
//	offset size
//	0      8    expiry, Unix nanoseconds, big endian; 0: none
//	8      …    backend.MarshalRecord of the entry
const expiryLen = 8

// dbKey is the key under which key is kept in the file: bbolt takes no
// empty key and none over bolt.MaxKeySize bytes, so every key gets a
// marker byte, and a key too long for the file is kept under its SHA-256.
func dbKey(key string) []byte {
	if len(key)+1 <= bolt.MaxKeySize {
		return append([]byte{'k'}, key...)
	}
	sum := sha256.Sum256([]byte(key))
	return append([]byte{'h'}, sum[:]...)
}

// encode is the stored form of e, to expire at expiry (zero: never).
func encode(e backend.Entry, expiry time.Time) []byte {
	v := make([]byte, expiryLen, expiryLen+13+len(e.Data))
	if !expiry.IsZero() {
		binary.BigEndian.PutUint64(v, uint64(expiry.UnixNano()))
	}
	return backend.AppendRecord(v, e)
}

// decode reads a stored value, which is missing when it has expired by
// now or does not decode. The entry's Data is copied out of v, which bbolt
// owns only for the transaction.
func decode(v []byte, now time.Time) (backend.Entry, bool) {
	if len(v) < expiryLen {
		return backend.Entry{}, false
	}
	if exp := int64(binary.BigEndian.Uint64(v)); exp != 0 && now.UnixNano() >= exp {
		return backend.Entry{}, false
	}
	e, err := backend.UnmarshalRecord(v[expiryLen:])
	if err != nil {
		return backend.Entry{}, false
	}
	e.Data = append([]byte{}, e.Data...)
	return e, true
}

// expiryOf is when an entry written now with ttl expires: zero for none.
func (s *Store) expiryOf(ttl time.Duration) time.Time {
	if ttl <= 0 {
		return time.Time{}
	}
	if exp, last := s.clock.Now().Add(ttl), time.Unix(0, math.MaxInt64); exp.Before(last) {
		return exp
	}
	return time.Time{} // past what Unix nanoseconds hold (2262): never
}

// Get returns the entry stored under key, missing when it has expired.
func (s *Store) Get(ctx context.Context, key string) (backend.Entry, bool, error) {
	var (
		e  backend.Entry
		ok bool
	)
	err := s.view(ctx, "get "+quote(key), func(b *bolt.Bucket) error {
		if b != nil {
			if v := b.Get(dbKey(key)); v != nil {
				e, ok = decode(v, s.clock.Now())
			}
		}
		return nil
	})
	if err != nil {
		return backend.Entry{}, false, err
	}
	return e, ok, nil
}

// Set stores e under key, with no TTL.
func (s *Store) Set(ctx context.Context, key string, e backend.Entry) error {
	return s.SetWithTTL(ctx, key, e, 0)
}

// SetWithTTL stores e under key; once ttl has passed it reads as missing,
// and the next purge deletes it.
func (s *Store) SetWithTTL(ctx context.Context, key string, e backend.Entry, ttl time.Duration) error {
	v := encode(e, s.expiryOf(ttl))
	return s.update(ctx, "set "+quote(key), func(_ *bolt.Tx, b *bolt.Bucket) error {
		return b.Put(dbKey(key), v)
	})
}

// Delete removes key.
func (s *Store) Delete(ctx context.Context, key string) error {
	return s.update(ctx, "delete "+quote(key), func(_ *bolt.Tx, b *bolt.Bucket) error {
		return b.Delete(dbKey(key))
	})
}

// GetMulti returns the entries stored under keys, zero where missing, in
// one transaction.
func (s *Store) GetMulti(ctx context.Context, keys []string) ([]backend.Entry, error) {
	out := make([]backend.Entry, len(keys))
	err := s.view(ctx, fmt.Sprintf("get %d keys", len(keys)), func(b *bolt.Bucket) error {
		if b == nil {
			return nil
		}
		now := s.clock.Now()
		for i, k := range keys {
			if v := b.Get(dbKey(k)); v != nil {
				out[i], _ = decode(v, now)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetMulti stores entries, with ttl when above zero, in one transaction.
func (s *Store) SetMulti(ctx context.Context, entries []backend.KeyedEntry, ttl time.Duration) error {
	exp := s.expiryOf(ttl)
	vals := make([][]byte, len(entries))
	for i, ke := range entries {
		vals[i] = encode(ke.Entry, exp)
	}
	return s.update(ctx, fmt.Sprintf("set %d keys", len(entries)), func(_ *bolt.Tx, b *bolt.Bucket) error {
		for i, ke := range entries {
			if err := b.Put(dbKey(ke.Key), vals[i]); err != nil {
				return fmt.Errorf("key %s: %w", quote(ke.Key), err)
			}
		}
		return nil
	})
}

// DeleteMulti removes keys in one transaction.
func (s *Store) DeleteMulti(ctx context.Context, keys []string) error {
	return s.update(ctx, fmt.Sprintf("delete %d keys", len(keys)), func(_ *bolt.Tx, b *bolt.Bucket) error {
		for _, k := range keys {
			if err := b.Delete(dbKey(k)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Purge deletes every expired entry from the file now, and returns how
// many it deleted. Writes do it by themselves every
// [Options.PurgeInterval].
func (s *Store) Purge(ctx context.Context) (int, error) {
	var n int
	err := s.update(ctx, "purge", func(tx *bolt.Tx, b *bolt.Bucket) (err error) {
		n, err = s.purge(tx, b)
		return err
	})
	return n, err
}

// purgeIfDue purges when the last purge of the file, by any process, is
// older than the purge interval.
func (s *Store) purgeIfDue(tx *bolt.Tx, b *bolt.Bucket) (int, error) {
	if m := tx.Bucket(metaBucket); m != nil {
		if v := m.Get(purgedKey); len(v) == 8 {
			last := time.Unix(0, int64(binary.BigEndian.Uint64(v)))
			// A last purge more than an interval after now means the
			// clock was set back (or another process's Clock ran ahead):
			// waiting for the clock to reach it could stop purges for
			// years, so it is due. A purge a little ahead, as a coarse
			// clock sees a precise one's, is not: that would purge on
			// every write for the moment they differ.
			if since := s.clock.Now().Sub(last); since > -s.purgeInt && since < s.purgeInt {
				return 0, nil
			}
		}
	}
	return s.purge(tx, b)
}

// purge deletes the expired entries of b and notes the time in the meta
// bucket.
func (s *Store) purge(tx *bolt.Tx, b *bolt.Bucket) (int, error) {
	now := s.clock.Now()
	var expired [][]byte
	err := b.ForEach(func(k, v []byte) error {
		if len(v) >= expiryLen {
			if exp := int64(binary.BigEndian.Uint64(v)); exp != 0 && now.UnixNano() >= exp {
				expired = append(expired, append([]byte{}, k...))
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, k := range expired {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	m, err := tx.CreateBucketIfNotExists(metaBucket)
	if err != nil {
		return 0, err
	}
	return len(expired), m.Put(purgedKey, binary.BigEndian.AppendUint64(nil, uint64(now.UnixNano())))
}

// quote quotes key for messages, cut to a readable length.
func quote(key string) string {
	if len(key) > 64 {
		return fmt.Sprintf("%q… (%d bytes)", key[:64], len(key))
	}
	return fmt.Sprintf("%q", key)
}

// Serializer returns the serializer the store recommends.
func (s *Store) Serializer() backend.Serializer { return s.ser }

// Path returns the data file's path.
func (s *Store) Path() string { return s.path }

// Close ends the lock waits of this store's handles and closes the read-
// write lock file. It does not release creation locks held by handles;
// their Unlock still does. The store returns [backend.ErrClosed]
// afterwards.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(s.done)
	s.mu.Lock() // wait for running operations
	defer s.mu.Unlock()
	return s.rw.close()
}

var (
	_ backend.Backend       = (*Store)(nil)
	_ backend.MultiGetter   = (*Store)(nil)
	_ backend.MultiSetter   = (*Store)(nil)
	_ backend.MultiDeleter  = (*Store)(nil)
	_ backend.TTLSetter     = (*Store)(nil)
	_ backend.Serializing   = (*Store)(nil)
	_ backend.Locker        = (*Store)(nil)
	_ backend.LockInspector = (*Store)(nil)
)
