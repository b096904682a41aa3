package backend

import (
	"context"
	"fmt"
	"reflect"
	"time"
)

// Proxy is a backend that wraps another (dogpile's ProxyBackend). Embed
// [ProxyBackend] in a struct, override the methods the proxy changes, and
// pass a pointer to [Wrap] or to the region's configuration:
//
//	type LoggingProxy struct{ backend.ProxyBackend }
//
//	func (p *LoggingProxy) Set(ctx context.Context, key string, e backend.Entry) error {
//		log.Printf("set %s", key)
//		return p.Proxied().Set(ctx, key, e)
//	}
type Proxy interface {
	Backend
	// Proxied returns the backend this proxy passes calls to.
	Proxied() Backend
	// SetProxied sets it; [Wrap] calls it.
	SetProxied(Backend)
}

// ProxyBackend passes every call, including those of the optional
// interfaces, to the backend it wraps, applying the documented fallback
// where that backend lacks a capability. Embed it to write a [Proxy].
//
// As in dogpile, the multi-key methods pass through to the multi-key
// methods beneath, not to the proxy's own Get or Set: a proxy that changes
// values on the way in or out overrides GetMulti and SetMulti too. The same
// holds for two single-key methods a region calls instead of Get and Set:
// SetWithTTL, for its writes when it has a StoreTTL ([TTLSetter]), and
// GetTagged, for its tagged reads ([TaggedGetter]). A proxy that must see
// every write or read overrides them as well, as [Breaker] does.
type ProxyBackend struct {
	proxied Backend
}

// Proxied returns the wrapped backend.
func (p *ProxyBackend) Proxied() Backend { return p.proxied }

// SetProxied sets the wrapped backend.
func (p *ProxyBackend) SetProxied(b Backend) { p.proxied = b }

// Get passes through.
func (p *ProxyBackend) Get(ctx context.Context, key string) (Entry, bool, error) {
	return p.proxied.Get(ctx, key)
}

// Set passes through.
func (p *ProxyBackend) Set(ctx context.Context, key string, e Entry) error {
	return p.proxied.Set(ctx, key, e)
}

// Delete passes through.
func (p *ProxyBackend) Delete(ctx context.Context, key string) error {
	return p.proxied.Delete(ctx, key)
}

// GetMulti passes through ([GetMulti]).
func (p *ProxyBackend) GetMulti(ctx context.Context, keys []string) ([]Entry, error) {
	return GetMulti(ctx, p.proxied, keys)
}

// SetMulti passes through ([SetMulti]).
func (p *ProxyBackend) SetMulti(ctx context.Context, entries []KeyedEntry, ttl time.Duration) error {
	return SetMulti(ctx, p.proxied, entries, ttl)
}

// DeleteMulti passes through ([DeleteMulti]).
func (p *ProxyBackend) DeleteMulti(ctx context.Context, keys []string) error {
	return DeleteMulti(ctx, p.proxied, keys)
}

// SetWithTTL passes through ([SetWithTTL]).
func (p *ProxyBackend) SetWithTTL(ctx context.Context, key string, e Entry, ttl time.Duration) error {
	return SetWithTTL(ctx, p.proxied, key, e, ttl)
}

// Mutex passes through ([MutexFor]).
func (p *ProxyBackend) Mutex(key string) Mutex { return MutexFor(p.proxied, key) }

// Locked passes through ([IsLocked]).
func (p *ProxyBackend) Locked(ctx context.Context, key string) (bool, error) {
	return IsLocked(ctx, p.proxied, key)
}

// Serializer passes through ([SerializerOf]).
func (p *ProxyBackend) Serializer() Serializer { return SerializerOf(p.proxied) }

// KeyMangler passes through ([KeyManglerOf]).
func (p *ProxyBackend) KeyMangler() KeyMangler { return KeyManglerOf(p.proxied) }

// Close passes through ([Close]).
func (p *ProxyBackend) Close() error { return Close(p.proxied) }

// Wrap applies proxies to b and returns the outermost. As in dogpile, the
// first proxy in the list is the outermost: a call goes through proxies[0],
// then proxies[1], …, then b. Each proxy must be a distinct value; Wrap
// returns an error if one is nil or appears twice.
func Wrap(b Backend, proxies ...Proxy) (Backend, error) {
	for i, p := range proxies {
		if p == nil {
			return nil, fmt.Errorf("%w: proxy %d of %d is nil", ErrBadArgument, i+1, len(proxies))
		}
		// The same proxy twice would make the chain a loop. Only comparable
		// values can be the same value; == on others would panic.
		if !reflect.TypeOf(p).Comparable() {
			continue
		}
		for j := range i {
			if reflect.TypeOf(proxies[j]) == reflect.TypeOf(p) && proxies[j] == p {
				return nil, fmt.Errorf("%w: proxy %d (%T) appears twice in the chain", ErrBadArgument, i+1, p)
			}
		}
	}
	for i := len(proxies) - 1; i >= 0; i-- {
		proxies[i].SetProxied(b)
		b = proxies[i]
	}
	return b, nil
}

// ActualBackend returns the store underneath any proxies wrapped around b.
func ActualBackend(b Backend) Backend {
	for {
		p, ok := b.(Proxy)
		if !ok || p.Proxied() == nil {
			return b
		}
		b = p.Proxied()
	}
}

// Find returns the first store of type T in b's proxy chain, b first, and
// false when there is none (a proxy to look through, the tag protocol,
// a store with a capability the proxies above it hide).
func Find[T any](b Backend) (T, bool) {
	for b != nil {
		if t, ok := b.(T); ok {
			return t, true
		}
		p, ok := b.(Proxy)
		if !ok {
			break
		}
		b = p.Proxied()
	}
	var zero T
	return zero, false
}

// TagStates passes through ([TagStore]); ErrNoTagStore when the store
// beneath keeps no tag versions.
func (p *ProxyBackend) TagStates(ctx context.Context, tags []string) ([]TagState, error) {
	ts, err := TagStoreOf(p.proxied)
	if err != nil {
		return nil, err
	}
	return ts.TagStates(ctx, tags)
}

// BumpTags passes through ([TagStore]).
func (p *ProxyBackend) BumpTags(ctx context.Context, tags []string) error {
	ts, err := TagStoreOf(p.proxied)
	if err != nil {
		return err
	}
	return ts.BumpTags(ctx, tags)
}

// MarkPending passes through ([TagStore]).
func (p *ProxyBackend) MarkPending(ctx context.Context, tags []string, owner string, lease time.Duration) error {
	ts, err := TagStoreOf(p.proxied)
	if err != nil {
		return err
	}
	return ts.MarkPending(ctx, tags, owner, lease)
}

// ReleasePending passes through ([TagStore]).
func (p *ProxyBackend) ReleasePending(ctx context.Context, tags []string, owner string, bump bool) error {
	ts, err := TagStoreOf(p.proxied)
	if err != nil {
		return err
	}
	return ts.ReleasePending(ctx, tags, owner, bump)
}

// GetTagged passes through ([GetTagged]).
func (p *ProxyBackend) GetTagged(ctx context.Context, key string, tags []string) (Entry, bool, []TagState, error) {
	return GetTagged(ctx, p.proxied, key, tags)
}
