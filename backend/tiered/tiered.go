package tiered

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/backend/redis"
)

// stripes is the number of sequence counters keys (and tags) are spread
// over; see [Store.keep].
const stripes = 1024

// Store is a two-tier store: a bounded in-process near tier in front of a
// Redis far tier, kept coherent across processes by pub/sub. It is safe for
// concurrent use by multiple goroutines.
//
// Within a process the near tier follows one rule: every change of a key
// (a write, a delete, a fill after a read from Redis, a message from
// another process) is made in Redis first, or learnt from it, and the near
// tier keeps the entry only if no other change of the key began meanwhile;
// in doubt the entry is dropped, never kept. So the near tier never holds a
// value that Redis has replaced, except for the time a message from
// another process takes to arrive.
type Store struct {
	far    *redis.Store
	ownFar bool // the store made far and closes it
	near   *memory.Store
	o      Options
	id     [idLen]byte // this store's id in the messages it sends
	seed   maphash.Seed
	// maxNear is the largest weight (key plus data) an entry may have to
	// be kept near; 0: no limit.
	maxNear int

	// healthy is set while the subscription is live: only then is the
	// near tier read or filled.
	healthy atomic.Bool
	// epoch moves whenever the near tier is emptied wholesale (the
	// subscription was lost or made again), so that a fill that began
	// before is dropped.
	epoch atomic.Uint64
	// keyStripes and tagStripes order the changes of keys (tags) by
	// stripe; see keep.
	keyStripes, tagStripes stripeSet

	tags  tagCache // bounded coherence only
	stats counters
	sub   subscriber
	watch watchers

	closeOnce sync.Once
	closeErr  error
}

// New makes a tiered store and starts its subscription in the background.
// Like [redis.New] it does not wait for Redis: until the subscription is
// made the store reads and writes Redis only ([Store.Healthy] is false);
// [Store.WaitHealthy] waits for it.
func New(o Options) (*Store, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	far, own := o.Far, false
	if far == nil {
		var err error
		if far, err = redis.New(*o.Redis); err != nil {
			return nil, err
		}
		own = true
	}
	return newStore(far, own, o)
}

// newStore builds the store over far, which it closes when own is set.
func newStore(far *redis.Store, own bool, o Options) (*Store, error) {
	nearOpts := memory.Options{
		Serialized: true,
		Serializer: far.Serializer(),
		MaxBytes:   o.MaxBytes,
		MaxEntries: o.MaxEntries,
		// Always: with NearTTL negative (no limit of its own) the near
		// copy still must not outlive Redis's TTL.
		EnableTTL: true,
	}
	near, err := memory.New(nearOpts)
	if err != nil {
		if own {
			_ = far.Close()
		}
		return nil, err
	}
	s := &Store{far: far, ownFar: own, near: near, o: o, seed: maphash.MakeSeed()}
	_, _ = crand.Read(s.id[:])
	if o.MaxBytes > 0 {
		s.maxNear = int(min(o.MaxBytes/8, 1<<30))
	}
	s.startSubscriber()
	return s, nil
}

// Far returns the Redis store beneath: its Client serves other uses of the
// same Redis. Writing through it directly bypasses the invalidation
// messages.
func (s *Store) Far() *redis.Store { return s.far }

// Channel returns the pub/sub channel the store's messages travel on.
func (s *Store) Channel() string { return s.o.Channel }

// Coherence returns the store's coherence mode.
func (s *Store) Coherence() Coherence { return s.o.Coherence }

// Stats returns the store's counters.
func (s *Store) Stats() Stats { return s.stats.snapshot() }

// Len returns the number of entries in the near tier, an estimate.
func (s *Store) Len() int { return s.near.Len() }

func (s *Store) stripe(key string) int {
	return int(maphash.String(s.seed, key) % stripes)
}

// token is what a fill or a write of a key notes before it goes to Redis,
// for keep.
type token struct {
	stripe int    // the key's stripe, hashed once for begin and keep
	seq    uint64 // the stripe's counter
	epoch  uint64
	near   bool // the near tier was in use
}

// begin notes a key's token. The epoch is read before the health flag: a
// loss of the subscription that the flag misses moves the epoch after it
// was read, and keep sees that.
func (s *Store) begin(key string) token {
	i := s.stripe(key)
	t := token{stripe: i, seq: s.keyStripes.seq[i].Load(), epoch: s.epoch.Load()}
	t.near = s.healthy.Load()
	return t
}

// keep puts e, which Redis held under key when tok was taken or later, in
// the near tier, unless anything happened to the key's stripe meanwhile.
//
// This is the whole of the near tier's coherence within a process. Every
// change of a key — a local write or delete, a fill from Redis, an
// invalidation message from another process — first changes Redis (or
// learns of a change there); then, under the stripe's lock, it moves the
// stripe's counter and changes the near tier. A fill or a write stores its
// entry only if the counter was still at the value noted before it went
// to Redis, and otherwise drops the key. So of two racing changes the
// later one to take the lock sees the earlier and drops what the earlier
// stored, and a message about a write that a fill
// missed either takes the lock first (the fill then stores nothing) or
// after (its delete follows the fill's store). A message about a write to
// Redis is always received after any read that missed the write began,
// because the writer publishes after its write and the reader noted its
// token before its read. Entries are only ever dropped in doubt, never
// kept, and an entry in doubt is never stored, not even for a moment: the
// price of a collision in a stripe is a miss.
//
// ttl is how long Redis keeps the entry (0: for good; negative: it is
// already gone), which the near copy does not outlive.
func (s *Store) keep(key string, tok token, e backend.Entry, ttl time.Duration) {
	del := func() { _ = s.near.Delete(context.Background(), key) }
	if !tok.near || ttl < 0 || (s.maxNear > 0 && len(key)+len(e.Data) > s.maxNear) {
		s.keyStripes.drop(tok.stripe, del)
		return
	}
	s.keyStripes.keep(&s.epoch, tok, func() { _ = s.near.SetWithTTL(context.Background(), key, e, s.nearTTL(ttl)) }, del)
}

// stripeSet holds, per stripe, a counter that moves with every change of a
// key (tag) of the stripe — written, deleted, filled, invalidated by a
// message — and the lock that orders those changes (see keep).
type stripeSet struct {
	seq [stripes]atomic.Uint64
	mu  [stripes]sync.Mutex
}

// keep is the rule [Store.keep] explains, for keys and tags alike: under
// the stripe's lock it moves the counter for a change that noted tok
// before it went to Redis, and runs store if nothing else moved it (nor
// epoch, the near tier being emptied) meanwhile, del otherwise.
func (ss *stripeSet) keep(epoch *atomic.Uint64, tok token, store, del func()) {
	ss.mu[tok.stripe].Lock()
	defer ss.mu[tok.stripe].Unlock()
	if ss.seq[tok.stripe].Add(1)-1 != tok.seq || epoch.Load() != tok.epoch {
		del() // in doubt: what is there may be older
		return
	}
	store()
	if epoch.Load() != tok.epoch { // the tier was emptied meanwhile
		del()
	}
}

// drop moves stripe i's counter and runs del, under its lock.
func (ss *stripeSet) drop(i int, del func()) {
	ss.mu[i].Lock()
	defer ss.mu[i].Unlock()
	ss.seq[i].Add(1)
	del()
}

// dropKey drops key's near copy after a change to it in Redis.
func (s *Store) dropKey(key string) {
	s.keyStripes.drop(s.stripe(key), func() { _ = s.near.Delete(context.Background(), key) })
}

// farTTL returns how long Redis keeps an entry written with ttl.
func (s *Store) farTTL(ttl time.Duration) time.Duration {
	if ttl > 0 {
		return ttl
	}
	return s.far.Expiration()
}

// nearTTL returns the near tier's TTL for an entry Redis keeps for ttl
// (0: for good).
func (s *Store) nearTTL(ttl time.Duration) time.Duration {
	switch {
	case s.o.NearTTL < 0:
		return ttl
	case ttl > 0:
		return min(ttl, s.o.NearTTL)
	}
	return s.o.NearTTL
}

// nearGet looks key up in the near tier, when it is in use.
func (s *Store) nearGet(key string) (backend.Entry, bool) {
	if !s.healthy.Load() {
		s.stats.bypassed.Add(1)
		return backend.Entry{}, false
	}
	e, ok, _ := s.near.Get(context.Background(), key)
	if ok {
		s.stats.nearHits.Add(1)
	} else {
		s.stats.nearMisses.Add(1)
	}
	return e, ok
}

// Get returns the entry under key: from the near tier when it holds it,
// else from Redis (and then keeps it near).
func (s *Store) Get(ctx context.Context, key string) (backend.Entry, bool, error) {
	if e, ok := s.nearGet(key); ok {
		return e, true, nil
	}
	tok := s.begin(key)
	e, left, ok, err := s.far.GetWithTTL(ctx, key)
	if err != nil || !ok {
		return backend.Entry{}, false, err
	}
	if tok.near {
		s.keep(key, tok, e, left)
	}
	return e, true, nil
}

// GetMulti returns the entries under keys, zero where missing: those the
// near tier holds from it, the others from Redis in one round trip.
func (s *Store) GetMulti(ctx context.Context, keys []string) ([]backend.Entry, error) {
	out := make([]backend.Entry, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	var (
		farKeys []string
		farIdx  []int
	)
	for i, k := range keys {
		if e, ok := s.nearGet(k); ok {
			out[i] = e
			continue
		}
		farKeys = append(farKeys, k)
		farIdx = append(farIdx, i)
	}
	if len(farKeys) == 0 {
		return out, nil
	}
	toks := make([]token, len(farKeys))
	for i, k := range farKeys {
		toks[i] = s.begin(k)
	}
	got, lefts, err := s.far.GetMultiWithTTL(ctx, farKeys)
	if err != nil {
		return nil, err
	}
	kept := make(map[string]bool, len(farKeys))
	for i, e := range got {
		out[farIdx[i]] = e
		k := farKeys[i]
		if e.IsZero() || !toks[i].near || kept[k] {
			continue
		}
		kept[k] = true // a repeated key is kept once: its second keep would drop the first
		s.keep(k, toks[i], e, lefts[i])
	}
	return out, nil
}

// Set stores e under key in Redis and near, and tells other processes to
// drop their near copies.
func (s *Store) Set(ctx context.Context, key string, e backend.Entry) error {
	return s.SetWithTTL(ctx, key, e, 0)
}

// SetWithTTL is Set with a TTL, which the near copy does not outlive.
func (s *Store) SetWithTTL(ctx context.Context, key string, e backend.Entry, ttl time.Duration) error {
	e.Value = nil
	tok := s.begin(key)
	if err := s.far.SetWithTTL(ctx, key, e, ttl); err != nil {
		s.dropKey(key) // Redis may or may not hold it now
		return s.publishFailed(ctx, kindKeys, []string{key}, err)
	}
	s.keep(key, tok, e, s.farTTL(ttl))
	return s.publish(ctx, kindKeys, []string{key})
}

// SetMulti stores entries in Redis (one round trip) and near, and tells
// other processes in one message.
func (s *Store) SetMulti(ctx context.Context, entries []backend.KeyedEntry, ttl time.Duration) error {
	if len(entries) == 0 {
		return nil
	}
	toks := make([]token, len(entries))
	for i, ke := range entries {
		toks[i] = s.begin(ke.Key)
	}
	keys := make([]string, len(entries))
	for i, ke := range entries {
		keys[i] = ke.Key
	}
	if err := s.far.SetMulti(ctx, entries, ttl); err != nil {
		for _, k := range keys {
			s.dropKey(k)
		}
		return s.publishFailed(ctx, kindKeys, keys, err)
	}
	seen := make(map[string]int, len(entries))
	for i, ke := range entries {
		seen[ke.Key] = i // the last entry of a repeated key is the one Redis kept
	}
	for i, ke := range entries {
		if seen[ke.Key] != i {
			continue
		}
		e := ke.Entry
		e.Value = nil
		s.keep(ke.Key, toks[i], e, s.farTTL(ttl))
	}
	return s.publish(ctx, kindKeys, keys)
}

// Delete removes key from Redis and near, and tells other processes.
func (s *Store) Delete(ctx context.Context, key string) error {
	err := s.far.Delete(ctx, key)
	s.dropKey(key)
	if err != nil {
		return s.publishFailed(ctx, kindKeys, []string{key}, err)
	}
	return s.publish(ctx, kindKeys, []string{key})
}

// DeleteMulti removes keys from Redis (one round trip) and near, and tells
// other processes in one message.
func (s *Store) DeleteMulti(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	err := s.far.DeleteMulti(ctx, keys)
	for _, k := range keys {
		s.dropKey(k)
	}
	if err != nil {
		return s.publishFailed(ctx, kindKeys, keys, err)
	}
	return s.publish(ctx, kindKeys, keys)
}

// publish sends an invalidation message about items. It is sent even when
// ctx has been canceled since the write it follows: the write was made.
func (s *Store) publish(ctx context.Context, kind byte, items []string) error {
	msg := appendMessage(nil, kind, s.id, items)
	if err := s.far.Client().Publish(context.WithoutCancel(ctx), s.o.Channel, msg).Err(); err != nil {
		s.stats.publishErrs.Add(1)
		return fmt.Errorf("%w (channel %q): %w", ErrNotPublished, s.o.Channel, err)
	}
	s.stats.published.Add(1)
	return nil
}

// publishFailed follows a write that Redis answered with err, and returns
// err. Redis may have applied the write all the same (a timeout after the
// server acted, say), and a near copy in another process must not outlive
// it by NearTTL: so the message is sent, as after a success, unless the
// subscription is down, which says Redis is out of reach from here (the
// message would only wait for another timeout). A failure to send it is
// counted, not returned: err says more.
func (s *Store) publishFailed(ctx context.Context, kind byte, items []string, err error) error {
	if s.healthy.Load() {
		_ = s.publish(ctx, kind, items)
	}
	return err
}

// Serializer returns the serializer of the Redis store.
func (s *Store) Serializer() backend.Serializer { return s.far.Serializer() }

// Mutex returns the Redis store's creation lock for key (nil when it was
// made with DisableLock).
func (s *Store) Mutex(key string) backend.Mutex { return s.far.Mutex(key) }

// Locked reports whether key's creation lock is held in Redis.
func (s *Store) Locked(ctx context.Context, key string) (bool, error) { return s.far.Locked(ctx, key) }

// Close stops the subscription and empties the near tier, and closes the
// Redis store if the tiered store made it.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stopSubscriber()
		_ = s.near.Close()
		if s.ownFar {
			s.closeErr = s.far.Close()
		}
	})
	return s.closeErr
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
