package tiered

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// subscriber is the state of the goroutine that listens on the channel.
//
// Each subscription is a session on a PubSub of its own: the store is
// healthy from the server's confirmation of the SUBSCRIBE until the first
// error or unanswered ping, and then the session is closed and a new one
// made, after a pause. go-redis would reconnect a PubSub by itself, but a
// fresh PubSub per session makes one rule do for every way of losing it
// (a closed connection, a server that stopped answering, an
// unsubscription): healthy only between a confirmation and a failure, with
// the near tier emptied at both ends.
type subscriber struct {
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when the listening goroutine has returned

	mu sync.Mutex
	ps *goredis.PubSub // guarded by mu; the current session, or nil
	up chan struct{}   // guarded by mu; closed while healthy

	// hook, set by tests, is called after each message from another
	// process has been applied.
	hook atomic.Pointer[func(kind byte, items []string)]
}

var errUnsubscribed = errors.New("tiered: the server ended the subscription")

func (s *Store) startSubscriber() {
	s.sub.ctx, s.sub.cancel = context.WithCancel(context.Background())
	s.sub.done = make(chan struct{})
	s.sub.up = make(chan struct{})
	go s.listen()
}

func (s *Store) stopSubscriber() {
	s.sub.cancel()
	s.sub.mu.Lock()
	if s.sub.ps != nil {
		_ = s.sub.ps.Close() // ends a read in progress
	}
	s.sub.mu.Unlock()
	<-s.sub.done
	s.healthy.Store(false)
	s.epoch.Add(1)
}

// Healthy reports whether the store is subscribed to its channel, and so
// uses its near tier. While it is not, every read and write goes to Redis
// alone.
func (s *Store) Healthy() bool { return s.healthy.Load() }

// WaitHealthy waits until the store is subscribed, or ctx ends.
func (s *Store) WaitHealthy(ctx context.Context) error {
	for {
		s.sub.mu.Lock()
		up := s.sub.up
		s.sub.mu.Unlock()
		select {
		case <-up:
			if s.healthy.Load() {
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("tiered: waiting for the subscription to %q: %w", s.o.Channel, ctx.Err())
		case <-s.sub.done:
			return fmt.Errorf("tiered: waiting for the subscription: store closed")
		}
	}
}

// listen runs sessions until the store is closed.
func (s *Store) listen() {
	defer close(s.sub.done)
	ctx := s.sub.ctx
	pause := s.o.RetryMin
	for {
		ps := s.far.Client().Subscribe(ctx, s.o.Channel)
		s.sub.mu.Lock()
		if ctx.Err() != nil {
			s.sub.mu.Unlock()
			_ = ps.Close()
			return
		}
		s.sub.ps = ps
		s.sub.mu.Unlock()

		wasUp, err := s.session(ctx, ps)

		s.sub.mu.Lock()
		s.sub.ps = nil
		s.sub.mu.Unlock()
		_ = ps.Close()
		if ctx.Err() != nil {
			return
		}
		s.down(err)
		if wasUp {
			pause = s.o.RetryMin
		}
		// Jittered, so that the processes of a fleet do not all come
		// back to a restarted Redis at once.
		wait := pause/2 + rand.N(pause/2+1)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
		pause = min(pause*2, s.o.RetryMax)
	}
}

// session reads one subscription's messages until it fails, and reports
// whether it was confirmed.
func (s *Store) session(ctx context.Context, ps *goredis.PubSub) (up bool, err error) {
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, s.o.PingEvery)
		if err != nil {
			if isTimeout(err) && !pinged && ctx.Err() == nil {
				// Silence: make the server say something. A ping that
				// goes unanswered for as long again ends the session.
				if err := ps.Ping(ctx); err != nil {
					return up, fmt.Errorf("tiered: ping on the subscription: %w", err)
				}
				pinged = true
				continue
			}
			return up, fmt.Errorf("tiered: subscription to %q: %w", s.o.Channel, err)
		}
		pinged = false
		switch m := msg.(type) {
		case *goredis.Message:
			s.apply(m.Payload)
		case *goredis.Subscription:
			switch {
			case m.Kind == "subscribe" && m.Channel == s.o.Channel:
				s.upNow()
				up = true
			case m.Kind == "unsubscribe":
				return up, errUnsubscribed
			}
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// upNow starts using the near tier: empty, since messages sent while the
// store was not subscribed are lost. Watchers hear of it before the store
// reports healthy, so that one registered after WaitHealthy returned hears
// only of changes made since.
func (s *Store) upNow() {
	s.epoch.Add(1)
	s.near.Clear()
	s.tags.clear()
	s.watch.notifyAll()
	s.healthy.Store(true)
	s.stats.subscriptions.Add(1)
	s.sub.mu.Lock()
	select {
	case <-s.sub.up:
	default:
		close(s.sub.up)
	}
	s.sub.mu.Unlock()
}

// down stops using the near tier and empties it: from now on messages may
// be missed.
func (s *Store) down(err error) {
	wasUp := s.healthy.Swap(false)
	s.epoch.Add(1)
	s.near.Clear()
	s.tags.clear()
	s.sub.mu.Lock()
	select {
	case <-s.sub.up:
		s.sub.up = make(chan struct{})
	default:
	}
	s.sub.mu.Unlock()
	if wasUp {
		s.stats.reset.Add(1)
		s.watch.notifyAll()
	}
	if err != nil && s.o.OnError != nil {
		s.o.OnError(err)
	}
}

// apply applies a message from the channel.
func (s *Store) apply(payload string) {
	m, err := parseMessage(payload)
	if err != nil {
		if s.o.OnError != nil {
			s.o.OnError(fmt.Errorf("%w on channel %q (%d bytes)", err, s.o.Channel, len(payload)))
		}
		return
	}
	if m.sender == s.id {
		return // this store applied its own changes as it made them
	}
	switch m.kind {
	case kindKeys:
		for _, k := range m.items {
			s.dropKey(k)
			s.watch.notify(k)
		}
	case kindTags:
		for _, t := range m.items {
			s.dropTag(t)
		}
	}
	// Counted once applied: a reader that saw the count sees the drops.
	s.stats.received.Add(1)
	if h := s.sub.hook.Load(); h != nil {
		(*h)(m.kind, m.items)
	}
}

// watchers are the functions WatchKey registered.
type watchers struct {
	n  atomic.Int64 // number of watchers, read without the lock on every message
	mu sync.Mutex
	m  map[string]map[*func()]struct{} // guarded by mu
}

// WatchKey calls fn whenever another process writes or deletes key through
// a tiered store on the same channel, and whenever this store may have
// missed such news (its subscription was lost or made again). fn runs on
// the store's listening goroutine and must not block. The returned
// function stops the calls.
//
// It lets state kept beside the cache (a shared invalidation strategy's,
// say) be read again as soon as it changes, instead of at its next poll.
func (s *Store) WatchKey(key string, fn func()) (stop func()) {
	w := &fn
	s.watch.mu.Lock()
	if s.watch.m == nil {
		s.watch.m = make(map[string]map[*func()]struct{})
	}
	if s.watch.m[key] == nil {
		s.watch.m[key] = make(map[*func()]struct{})
	}
	s.watch.m[key][w] = struct{}{}
	s.watch.n.Add(1)
	s.watch.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.watch.mu.Lock()
			delete(s.watch.m[key], w)
			if len(s.watch.m[key]) == 0 {
				delete(s.watch.m, key)
			}
			s.watch.n.Add(-1)
			s.watch.mu.Unlock()
		})
	}
}

func (w *watchers) notify(key string) {
	if w.n.Load() == 0 {
		return
	}
	w.mu.Lock()
	fns := make([]*func(), 0, len(w.m[key]))
	for fn := range w.m[key] {
		fns = append(fns, fn)
	}
	w.mu.Unlock()
	for _, fn := range fns {
		(*fn)()
	}
}

func (w *watchers) notifyAll() {
	if w.n.Load() == 0 {
		return
	}
	w.mu.Lock()
	var fns []*func()
	for _, set := range w.m {
		for fn := range set {
			fns = append(fns, fn)
		}
	}
	w.mu.Unlock()
	for _, fn := range fns {
		(*fn)()
	}
}
