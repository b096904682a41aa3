package region

import (
	"context"
	"fmt"
)

// FuncOption configures a cached function ([CacheOnArguments],
// [CacheMultiOnArguments]; [TagsFor] only the first). Every [CallOption] is
// one too, and then applies to each call of the function.
type FuncOption interface {
	applyFunc(*funcConfig)
}

type funcConfig struct {
	namespace string
	name      string
	keyGen    FuncKeyGenerator
	keyFunc   any // func(A) string, checked when the function is made
	tagsFunc  any // func(A) []string, likewise
	call      []CallOption
}

type funcOption func(*funcConfig)

func (f funcOption) applyFunc(c *funcConfig) { f(c) }

func (o CallOption) applyFunc(c *funcConfig) { c.call = append(c.call, o) }

// Namespace adds ns to the function's keys, to tell apart functions whose
// names and arguments could collide.
func Namespace(ns string) FuncOption {
	return funcOption(func(c *funcConfig) { c.namespace = ns })
}

// FuncName replaces the function's name in its keys (by default the
// package-qualified name of the Go function), for closures and for keys
// that must stay the same when code moves.
func FuncName(name string) FuncOption {
	return funcOption(func(c *funcConfig) { c.name = name })
}

// KeyGenerator replaces the region's [FuncKeyGenerator] for this function.
func KeyGenerator(g FuncKeyGenerator) FuncOption {
	return funcOption(func(c *funcConfig) { c.keyGen = g })
}

// KeyFunc makes the keys of a function of argument type A with f alone
// (no name, no namespace): the fastest and most explicit key.
func KeyFunc[A any](f func(A) string) FuncOption {
	return funcOption(func(c *funcConfig) { c.keyFunc = f })
}

// TagsFor tags each call of a cached function of argument type A with the
// tags f gives for its argument ("user:42" for user 42's data, say), as
// [WithTags] does: [Region.InvalidateTags] then invalidates every cached
// result of that argument. Call, Get, Set, Refresh and Invalidate all use
// them, so values stored by Set and Refresh are valid for tagged calls.
// It applies to [CacheOnArguments]; [CacheMultiOnArguments] refuses it
// with [ErrBadConfig] (give its calls fixed tags with [WithTags]).
func TagsFor[A any](f func(A) []string) FuncOption {
	return funcOption(func(c *funcConfig) { c.tagsFunc = f })
}

// Func is a Go function whose results are cached in a region, by argument
// (dogpile's cache_on_arguments). Several arguments go in a struct. It is
// safe for concurrent use by multiple goroutines.
type Func[A, V any] struct {
	r    *Region
	fn   func(context.Context, A) (V, error)
	key  func(A) string
	tags func(A) []string // nil: untagged
	opts []CallOption
}

// CacheOnArguments wraps fn so that its results are cached in r under a key
// made from the function and its argument:
//
//	var userByID = region.CacheOnArguments(users, loadUser, region.WithExpiration(time.Minute))
//
//	u, err := userByID.Call(ctx, 42)
//
// The region need not be configured yet; calls fail with
// [ErrNotConfigured] until it is. It returns an error (wrapping
// [ErrBadConfig]) for a nil fn or a KeyFunc of another argument type.
func CacheOnArguments[A, V any](r *Region, fn func(context.Context, A) (V, error), opts ...FuncOption) (*Func[A, V], error) {
	if fn == nil {
		return nil, fmt.Errorf("%w: CacheOnArguments of a nil function", ErrBadConfig)
	}
	cfg := funcConfig{}
	for _, o := range opts {
		if o != nil {
			o.applyFunc(&cfg)
		}
	}
	key, err := funcKey[A](r, cfg, fn)
	if err != nil {
		return nil, err
	}
	f := &Func[A, V]{r: r, fn: fn, key: key, opts: cfg.call}
	if cfg.tagsFunc != nil {
		tf, ok := cfg.tagsFunc.(func(A) []string)
		if !ok {
			return nil, fmt.Errorf("%w: TagsFor is a %T, want a func(%T) []string", ErrBadConfig, cfg.tagsFunc, *new(A))
		}
		f.tags = tf
	}
	return f, nil
}

// MustCacheOnArguments is [CacheOnArguments] that panics on error, for
// package-level declarations.
func MustCacheOnArguments[A, V any](r *Region, fn func(context.Context, A) (V, error), opts ...FuncOption) *Func[A, V] {
	f, err := CacheOnArguments(r, fn, opts...)
	if err != nil {
		panic(err)
	}
	return f
}

func funcKey[A any](r *Region, cfg funcConfig, fn any) (func(A) string, error) {
	if cfg.keyFunc != nil {
		kf, ok := cfg.keyFunc.(func(A) string)
		if !ok {
			return nil, fmt.Errorf("%w: KeyFunc is a %T, want a func(%T) string", ErrBadConfig, cfg.keyFunc, *new(A))
		}
		// A nil KeyFunc (or a generator that makes no key function, below)
		// would be found out only by the first call, as a nil-function
		// panic: refuse it here, where the mistake is made.
		if kf == nil {
			return nil, fmt.Errorf("%w: KeyFunc of a nil function", ErrBadConfig)
		}
		return kf, nil
	}
	name := cfg.name
	if name == "" {
		name = funcName(fn)
	}
	gen := cfg.keyGen
	if gen == nil {
		gen = r.funcKeys
	}
	g := gen(cfg.namespace, name)
	if g == nil {
		return nil, fmt.Errorf("%w: the key generator returned no key function for %q", ErrBadConfig, name)
	}
	return func(a A) string { return g(a) }, nil
}

// Key returns the cache key of the call with argument a.
func (f *Func[A, V]) Key(a A) string { return f.key(a) }

// Call returns the cached result for a, calling the function when needed,
// under the dogpile lock ([GetOrCreate]).
func (f *Func[A, V]) Call(ctx context.Context, a A, opts ...CallOption) (V, error) {
	key, opts := f.key(a), f.callOptions(a, opts)
	// A hit needs no creator: the closure, which escapes, is made only
	// when the general path may call it.
	if v, ok := tryFastHit[V](ctx, f.r, key, opts); ok {
		return v, nil
	}
	return getOrCreate(ctx, f.r, key, func(ctx context.Context) (V, error) {
		return f.fn(ctx, a)
	}, opts)
}

// Get returns the cached result for a, if there is a fresh one, without
// calling the function.
func (f *Func[A, V]) Get(ctx context.Context, a A) (V, bool, error) {
	return Get[V](ctx, f.r, f.key(a), f.callOptions(a, nil)...)
}

// Set stores v as the result for a, without calling the function.
func (f *Func[A, V]) Set(ctx context.Context, a A, v V) error {
	return Set(ctx, f.r, f.key(a), v, f.callOptions(a, nil)...)
}

// Refresh calls the function for a, stores the result and returns it,
// whatever the cache held, under the dogpile lock (callers that arrive
// meanwhile wait for it). A tagged function's new value records its tag
// versions from before the function ran (see [ForceRefresh]).
func (f *Func[A, V]) Refresh(ctx context.Context, a A) (V, error) {
	return f.Call(ctx, a, ForceRefresh(), func(o *callOptions) { o.shouldCache = nil })
}

// Invalidate removes the cached result for a.
func (f *Func[A, V]) Invalidate(ctx context.Context, a A) error {
	return f.r.Delete(ctx, f.key(a))
}

// Original calls the function, bypassing the cache.
func (f *Func[A, V]) Original(ctx context.Context, a A) (V, error) {
	return f.fn(ctx, a)
}

// callOptions are the function's options, its tags for a, then opts.
func (f *Func[A, V]) callOptions(a A, opts []CallOption) []CallOption {
	if len(opts) == 0 && f.tags == nil {
		return f.opts
	}
	out := append(make([]CallOption, 0, len(f.opts)+len(opts)+1), f.opts...)
	if f.tags != nil {
		out = append(out, WithTags(f.tags(a)...))
	}
	return append(out, opts...)
}

// MultiFunc is a Go function over many keys whose results are cached one
// per key (dogpile's cache_multi_on_arguments): a call finds what it can
// in the cache and asks the function only for the rest, in one call. It
// is safe for concurrent use by multiple goroutines.
type MultiFunc[K comparable, V any] struct {
	r    *Region
	fn   func(context.Context, []K) (map[K]V, error)
	key  func(K) string
	opts []CallOption
}

// CacheMultiOnArguments wraps fn, which returns the values for the keys it
// is given as a map. A key fn leaves out of its map is neither cached nor
// returned (dogpile's asdict=True); to cache absence, return a value that
// says so.
//
//	var usersByID = region.MustCacheMultiOnArguments(users, loadUsers)
//
//	found, err := usersByID.Call(ctx, 1, 2, 3) // map[int]User
func CacheMultiOnArguments[K comparable, V any](r *Region, fn func(context.Context, []K) (map[K]V, error), opts ...FuncOption) (*MultiFunc[K, V], error) {
	if fn == nil {
		return nil, fmt.Errorf("%w: CacheMultiOnArguments of a nil function", ErrBadConfig)
	}
	cfg := funcConfig{}
	for _, o := range opts {
		if o != nil {
			o.applyFunc(&cfg)
		}
	}
	if cfg.tagsFunc != nil {
		return nil, fmt.Errorf("%w: TagsFor does not apply to CacheMultiOnArguments (use WithTags)", ErrBadConfig)
	}
	key, err := funcKey[K](r, cfg, fn)
	if err != nil {
		return nil, err
	}
	return &MultiFunc[K, V]{r: r, fn: fn, key: key, opts: cfg.call}, nil
}

// MustCacheMultiOnArguments is [CacheMultiOnArguments] that panics on
// error, for package-level declarations.
func MustCacheMultiOnArguments[K comparable, V any](r *Region, fn func(context.Context, []K) (map[K]V, error), opts ...FuncOption) *MultiFunc[K, V] {
	f, err := CacheMultiOnArguments(r, fn, opts...)
	if err != nil {
		panic(err)
	}
	return f
}

// Key returns the cache key of k.
func (f *MultiFunc[K, V]) Key(k K) string { return f.key(k) }

// keyed returns the cache keys of ks, and a map back from key to argument.
func (f *MultiFunc[K, V]) keyed(ks []K) ([]string, map[string]K) {
	keys := make([]string, len(ks))
	back := make(map[string]K, len(ks))
	for i, k := range ks {
		keys[i] = f.key(k)
		back[keys[i]] = k
	}
	return keys, back
}

// Call returns the values for ks: cached ones from the cache, the others
// from one call of the function with just those keys.
func (f *MultiFunc[K, V]) Call(ctx context.Context, ks ...K) (map[K]V, error) {
	return f.call(ctx, ks, f.opts)
}

func (f *MultiFunc[K, V]) call(ctx context.Context, ks []K, opts []CallOption) (map[K]V, error) {
	c, err := f.r.configured()
	if err != nil {
		return nil, err
	}
	keys, back := f.keyed(ks)
	vals, present, err := getOrCreateMulti(ctx, f.r, c, keys, func(ctx context.Context, need []string) ([]V, []bool, error) {
		args := make([]K, len(need))
		for i, key := range need {
			args[i] = back[key]
		}
		// The function may reorder or change the slice it is given (it is
		// its own): the results are matched to keys through the map it
		// returns.
		got, err := f.fn(ctx, args)
		if err != nil {
			return nil, nil, err
		}
		vals := make([]V, len(need))
		present := make([]bool, len(need))
		for i, key := range need {
			vals[i], present[i] = got[back[key]]
		}
		return vals, present, nil
	}, options(opts), true)
	if err != nil {
		return nil, err
	}
	out := make(map[K]V, len(ks))
	for i, k := range ks {
		if present[i] {
			out[k] = vals[i]
		}
	}
	return out, nil
}

// Get returns the fresh cached values for ks, without calling the
// function; keys without one are absent from the map.
func (f *MultiFunc[K, V]) Get(ctx context.Context, ks ...K) (map[K]V, error) {
	keys, back := f.keyed(ks)
	got, err := GetMulti[V](ctx, f.r, keys, f.opts...)
	if err != nil {
		return nil, err
	}
	out := make(map[K]V, len(got))
	for key, v := range got {
		out[back[key]] = v
	}
	return out, nil
}

// Set stores values without calling the function.
func (f *MultiFunc[K, V]) Set(ctx context.Context, values map[K]V) error {
	m := make(map[string]V, len(values))
	for k, v := range values {
		m[f.key(k)] = v
	}
	return SetMulti(ctx, f.r, m, f.opts...)
}

// Refresh calls the function for ks, stores what it returns, and returns
// it, whatever the cache held, under the dogpile lock as [Func.Refresh]
// does: the new values are stamped with the time the function started and
// record the tag versions read before it ran, so a refresh that races a
// write or an invalidation never stores rows from before it as current.
func (f *MultiFunc[K, V]) Refresh(ctx context.Context, ks ...K) (map[K]V, error) {
	opts := append(append(make([]CallOption, 0, len(f.opts)+2), f.opts...),
		ForceRefresh(), func(o *callOptions) { o.shouldCache = nil })
	return f.call(ctx, ks, opts)
}

// Invalidate removes the cached values for ks.
func (f *MultiFunc[K, V]) Invalidate(ctx context.Context, ks ...K) error {
	keys, _ := f.keyed(ks)
	return f.r.DeleteMulti(ctx, keys)
}

// Original calls the function, bypassing the cache.
func (f *MultiFunc[K, V]) Original(ctx context.Context, ks ...K) (map[K]V, error) {
	return f.fn(ctx, ks)
}
