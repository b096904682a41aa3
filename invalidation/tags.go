package invalidation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dogpile-go/dogpile/backend"
)

// Options configure [Tags]. The zero value of each field means its default.
type Options struct {
	// Lease is how long a pending mark lives without renewal: how long
	// readers in every process bypass a tag after its writer died.
	// Default: 30s.
	Lease time.Duration
	// RenewEvery is how often the marks of open write sets, and of
	// releases still owed, are renewed. Default: Lease/3.
	RenewEvery time.Duration
	// RetryMin and RetryMax bound the pause between tries of a bump or
	// release the store refused; the pause doubles from RetryMin.
	// Defaults: 10ms and 5s.
	RetryMin, RetryMax time.Duration
	// OnError, when set, is told of every failure this package recovers
	// from by itself (a failed mark, a deferred bump, a failed renewal),
	// for logs and metrics. It must not block.
	OnError func(error)
}

func (o *Options) validate() error {
	for name, d := range map[string]time.Duration{"Lease": o.Lease, "RenewEvery": o.RenewEvery, "RetryMin": o.RetryMin, "RetryMax": o.RetryMax} {
		if d < 0 {
			return fmt.Errorf("%w: %s is negative (%v)", ErrBadOptions, name, d)
		}
	}
	if o.Lease == 0 {
		o.Lease = 30 * time.Second
	}
	if o.Lease < time.Millisecond {
		// Stores keep leases in milliseconds (Redis): a shorter one lapses
		// as it is taken, and Lease/3 may be no interval at all.
		return fmt.Errorf("%w: Lease %v is shorter than a millisecond", ErrBadOptions, o.Lease)
	}
	if o.RenewEvery == 0 {
		o.RenewEvery = o.Lease / 3
	}
	if o.RenewEvery >= o.Lease {
		return fmt.Errorf("%w: RenewEvery %v must be shorter than Lease %v", ErrBadOptions, o.RenewEvery, o.Lease)
	}
	if o.RetryMin == 0 {
		o.RetryMin = 10 * time.Millisecond
	}
	if o.RetryMax == 0 {
		o.RetryMax = 5 * time.Second
	}
	o.RetryMax = max(o.RetryMax, o.RetryMin)
	return nil
}

// Tags runs the two-phase invalidation protocol over a store's tag
// versions. It is also a proxy of that store ([backend.ProxyBackend]):
// configure regions on it, and their tagged calls see as pending every tag
// this process owes a bump for or holds in an open write set, besides the
// marks in the store. It is safe for concurrent use by multiple goroutines.
type Tags struct {
	backend.ProxyBackend
	store backend.TagStore
	o     Options

	mu     sync.Mutex
	held   map[string]int                      // tag → open write sets and owed bumps covering it; guarded by mu
	open   map[*WriteSet]struct{}              // write sets that may hold marks; guarded by mu
	owed   []*owed                             // operations the store refused, to retry; guarded by mu
	closed bool                                // guarded by mu
	view   atomic.Pointer[map[string]struct{}] // held's tags, nil when none: what tagged lookups read, without the lock
	wake   chan struct{}                       // a new owed operation: retry now
	stop   chan struct{}
	done   chan struct{}
}

// owed is a bump or release the store refused.
type owed struct {
	owner   string   // "" for a plain bump
	tags    []string // sorted
	bump    bool     // a bump's tags are counted in Tags.held until it is done
	release bool
}

// NewTags starts the protocol over b, which must keep tag versions
// ([backend.TagStore]). Close it to stop its background goroutine.
func NewTags(b backend.Backend, o Options) (*Tags, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	ts, err := backend.TagStoreOf(b)
	if err != nil {
		return nil, err
	}
	t := &Tags{
		store: ts, o: o,
		held: map[string]int{}, open: map[*WriteSet]struct{}{},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	t.SetProxied(b)
	go t.loop()
	return t, nil
}

// Begin starts the write set of one transaction.
func (t *Tags) Begin() *WriteSet {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return &WriteSet{t: t, owner: hex.EncodeToString(b[:])}
}

// Invalidate bumps tags now. If the store refuses, the bump is retried in
// the background and the error wraps [ErrDeferred]; this process bypasses
// the tags until it lands.
func (t *Tags) Invalidate(ctx context.Context, tags ...string) error {
	tags = sortedSet(tags)
	if len(tags) == 0 {
		return nil
	}
	if err := t.store.BumpTags(ctx, tags); err != nil {
		return t.queue(&owed{tags: tags, bump: true}, true, err)
	}
	return nil
}

// Held returns the tags this process treats as pending on its own: those of
// open write sets and of bumps it still owes.
func (t *Tags) Held() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]string, 0, len(t.held))
	for tag := range t.held {
		out = append(out, tag)
	}
	slices.Sort(out)
	return out
}

// Owed returns how many bumps and releases wait for the store.
func (t *Tags) Owed() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.owed)
}

// TagStates returns the store's states of tags, with the tags this process
// holds marked pending.
func (t *Tags) TagStates(ctx context.Context, tags []string) ([]backend.TagState, error) {
	states, err := t.store.TagStates(ctx, tags)
	if err == nil {
		t.overlay(tags, states)
	}
	return states, err
}

// GetTagged reads key and the states of tags, with the tags this process
// holds marked pending.
func (t *Tags) GetTagged(ctx context.Context, key string, tags []string) (backend.Entry, bool, []backend.TagState, error) {
	e, ok, states, err := backend.GetTagged(ctx, t.Proxied(), key, tags)
	if err == nil {
		t.overlay(tags, states)
	}
	return e, ok, states, err
}

func (t *Tags) overlay(tags []string, states []backend.TagState) {
	held := t.view.Load()
	if held == nil {
		return
	}
	for i, tag := range tags {
		if _, ok := (*held)[tag]; ok {
			states[i].Pending = true
		}
	}
}

// hold counts tags as held by one more holder (a Listener that is down).
func (t *Tags) hold(tags []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.holdLocked(tags)
}

// unhold undoes hold.
func (t *Tags) unhold(tags []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.unholdLocked(tags)
}

// holdLocked counts tags as held by one more write set or owed bump.
func (t *Tags) holdLocked(tags []string) {
	changed := false
	for _, tag := range tags {
		t.held[tag]++
		changed = changed || t.held[tag] == 1
	}
	if changed {
		t.publishLocked()
	}
}

func (t *Tags) unholdLocked(tags []string) {
	changed := false
	for _, tag := range tags {
		if t.held[tag]--; t.held[tag] <= 0 {
			delete(t.held, tag)
			changed = true
		}
	}
	if changed {
		t.publishLocked()
	}
}

// publishLocked gives lookups the set of held tags: they read it without
// the lock, which writes take and every tagged lookup would otherwise wait
// on while anything is held. It is made again only when a tag comes to be
// held or stops being held, not when another holder of a held tag comes
// or goes.
func (t *Tags) publishLocked() {
	if len(t.held) == 0 {
		t.view.Store(nil)
		return
	}
	view := make(map[string]struct{}, len(t.held))
	for tag := range t.held {
		view[tag] = struct{}{}
	}
	t.view.Store(&view)
}

// queue queues op for the background retry and returns err as deferred.
// With hold, a bump's tags are counted as held now; without, they
// already are (the write set's count passes to the owed bump).
func (t *Tags) queue(op *owed, hold bool, err error) error {
	t.mu.Lock()
	if t.closed {
		if op.bump && !hold {
			t.unholdLocked(op.tags)
		}
		t.mu.Unlock()
		// Nothing retries it any more: not deferred, and not owed.
		err = fmt.Errorf("%w: not retried: %w", ErrClosed, err)
		t.report(err)
		return err
	}
	if op.bump && hold {
		t.holdLocked(op.tags)
	}
	t.owed = append(t.owed, op)
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
	err = fmt.Errorf("%w: %w", ErrDeferred, err)
	t.report(err)
	return err
}

func (t *Tags) report(err error) {
	if t.o.OnError != nil && err != nil {
		t.o.OnError(err)
	}
}

// loop renews marks and retries what the store refused.
func (t *Tags) loop() {
	defer close(t.done)
	renew := time.NewTicker(t.o.RenewEvery)
	defer renew.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	backoff := t.o.RetryMin
	for {
		select {
		case <-t.stop:
			return
		case <-renew.C:
			t.renew()
			continue
		case <-t.wake:
		case <-retry.C:
		}
		if t.retryOwed() {
			backoff = t.o.RetryMin
			continue
		}
		retry.Reset(backoff)
		backoff = min(backoff*2, t.o.RetryMax)
	}
}

// retryOwed tries every owed operation once and reports whether none is
// left.
func (t *Tags) retryOwed() bool {
	t.mu.Lock()
	ops := slices.Clone(t.owed)
	t.mu.Unlock()
	if len(ops) == 0 {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), t.o.Lease)
	defer cancel()
	var doneOps []*owed
	for _, op := range ops {
		var err error
		switch {
		case op.release:
			err = t.store.ReleasePending(ctx, op.tags, op.owner, op.bump)
		default:
			err = t.store.BumpTags(ctx, op.tags)
		}
		if err != nil {
			t.report(fmt.Errorf("invalidation: retrying: %w", err))
			continue
		}
		doneOps = append(doneOps, op)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, op := range doneOps {
		if i := slices.Index(t.owed, op); i >= 0 {
			t.owed = slices.Delete(t.owed, i, i+1)
		}
		if op.bump {
			t.unholdLocked(op.tags)
		}
	}
	return len(t.owed) == 0
}

// renew extends the marks of open write sets and of owed releases: while a
// release is owed, its marks are what keeps other processes off the tags.
func (t *Tags) renew() {
	type mark struct {
		owner string
		tags  []string
	}
	var marks []mark
	// Lock order: a write set's mu before Tags.mu (Touch and finish take
	// them so). Collect the open write sets under Tags.mu, then read each
	// one under its own lock alone.
	t.mu.Lock()
	open := make([]*WriteSet, 0, len(t.open))
	for ws := range t.open {
		open = append(open, ws)
	}
	for _, op := range t.owed {
		if op.release && op.bump {
			marks = append(marks, mark{op.owner, op.tags})
		}
	}
	t.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), t.o.RenewEvery)
	defer cancel()
	// A write set's marks are renewed under its lock: a renewal must not
	// reach the store after Commit or Rollback released them, or it would
	// put them back for a whole lease.
	for _, ws := range open {
		ws.mu.Lock()
		if !ws.finished && len(ws.marked) > 0 {
			if err := t.store.MarkPending(ctx, ws.marked, ws.owner, t.o.Lease); err != nil {
				t.report(fmt.Errorf("invalidation: renewing marks: %w", err))
			}
		}
		ws.mu.Unlock()
	}
	for _, m := range marks {
		if err := t.store.MarkPending(ctx, m.tags, m.owner, t.o.Lease); err != nil {
			t.report(fmt.Errorf("invalidation: renewing marks: %w", err))
		}
	}
}

// Close stops the background goroutine after one last try of what is
// owed, bounded by ctx. It returns an error if anything is still owed: the
// marks in the store lapse after their lease.
func (t *Tags) Close(ctx context.Context) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.mu.Unlock()
	close(t.stop)
	<-t.done
	for !t.retryOwed() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("invalidation: closing with %d bumps or releases owed: %w", t.Owed(), ctx.Err())
		case <-time.After(t.o.RetryMin):
		}
	}
	return nil
}

// WriteSet is the tags one transaction writes. Touch each tag before the
// first write to it; then Commit after the transaction committed, or
// Rollback. A write set is safe for concurrent use; it must be finished
// with Commit or Rollback, or its tags stay held by this process.
type WriteSet struct {
	t     *Tags
	owner string

	mu       sync.Mutex
	touched  []string // sorted; every tag touched, marked or not; guarded by mu
	marked   []string // sorted; tags whose mark the store took; guarded by mu
	finished bool     // guarded by mu
}

// Touch marks tags as pending before the transaction first writes to them.
// Tags already touched are skipped. A tag is touched even when the store
// refuses the mark (the error is returned, for reporting): Commit bumps it
// all the same, and this process treats it as pending until then.
func (w *WriteSet) Touch(ctx context.Context, tags ...string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.finished {
		return ErrFinished
	}
	var fresh []string
	for _, tag := range sortedSet(tags) {
		if _, found := slices.BinarySearch(w.touched, tag); !found {
			fresh = append(fresh, tag)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	w.t.mu.Lock()
	closed := w.t.closed
	if !closed {
		w.t.open[w] = struct{}{}
	}
	w.t.holdLocked(fresh)
	w.t.mu.Unlock()
	w.touched = sortedSet(append(w.touched, fresh...))
	if closed {
		// The caller may write all the same: the tags are touched, so
		// that Commit still bumps them, but nothing renews a mark now.
		return ErrClosed
	}
	if err := w.t.store.MarkPending(ctx, fresh, w.owner, w.t.o.Lease); err != nil {
		err = fmt.Errorf("invalidation: marking %q pending: %w", fresh, err)
		w.t.report(err)
		return err
	}
	w.marked = sortedSet(append(w.marked, fresh...))
	return nil
}

// Tags returns the tags touched so far.
func (w *WriteSet) Tags() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.touched)
}

// Commit bumps every touched tag and releases the marks, in one step per
// tag. Call it after the transaction committed and before telling the
// caller so. If the store refuses, the bump is retried in the background
// and the error wraps [ErrDeferred]: the write is safe meanwhile (this
// process bypasses the tags, others see the marks).
func (w *WriteSet) Commit(ctx context.Context) error { return w.finish(ctx, true) }

// Rollback releases the marks without bumping.
func (w *WriteSet) Rollback(ctx context.Context) error { return w.finish(ctx, false) }

func (w *WriteSet) finish(ctx context.Context, commit bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.finished {
		return ErrFinished
	}
	w.finished = true
	t := w.t
	t.mu.Lock()
	delete(t.open, w)
	t.mu.Unlock()
	if len(w.touched) == 0 {
		return nil
	}
	err := t.store.ReleasePending(ctx, w.touched, w.owner, commit)
	if err == nil || !commit {
		t.unhold(w.touched)
	}
	if err == nil {
		return nil
	}
	if !commit {
		// Nothing changed: this process need not bypass the tags, and the
		// marks lapse on their own if the retry never lands.
		return t.queue(&owed{owner: w.owner, tags: w.touched, release: true}, false, err)
	}
	// The transaction's tags stay held (they were counted at Touch) until
	// the owed bump lands.
	return t.queue(&owed{owner: w.owner, tags: w.touched, release: true, bump: true}, false, err)
}

// sortedSet sorts and dedupes tags into a new slice.
func sortedSet(tags []string) []string {
	out := slices.Clone(tags)
	slices.Sort(out)
	return slices.Compact(out)
}
