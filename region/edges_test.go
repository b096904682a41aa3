package region_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/region"
)

// Differences from dogpile.cache found in an audit (helper) of the
// region's features outside the dogpile lock; each test failed before
// its fix.

// TagsFor does not apply to a multi-key cached function: it is refused,
// not ignored (ignored, InvalidateTags never reached its values).
func TestMultiFuncRefusesTagsFor(t *testing.T) {
	r, _ := setup(t, region.Config{})
	_, err := region.CacheMultiOnArguments(r, func(_ context.Context, ids []int) (map[int]string, error) {
		return nil, nil
	}, region.TagsFor(func(id int) []string { return []string{fmt.Sprint("user:", id)} }))
	if err == nil || !strings.Contains(err.Error(), "TagsFor") {
		t.Fatalf("CacheMultiOnArguments with TagsFor = %v; want an error naming TagsFor", err)
	}
}

type pair struct{ A, B string }

// Arguments that print alike with %v but differ get different keys:
// structs and slices whose strings hold spaces.
func TestFuncKeysDoNotCollide(t *testing.T) {
	r, _ := setup(t, region.Config{})
	ctx := context.Background()
	st := region.MustCacheOnArguments(r, func(_ context.Context, p pair) (string, error) { return p.A + "/" + p.B, nil })
	if x, _ := st.Call(ctx, pair{"a b", "c"}); x != "a b/c" {
		t.Fatal(x)
	}
	if y, _ := st.Call(ctx, pair{"a", "b c"}); y != "a/b c" {
		t.Errorf("Call(pair{a, b c}) = %q (key %q): it shares pair{a b, c}'s key", y, st.Key(pair{"a", "b c"}))
	}
	sl := region.MustCacheOnArguments(r, func(_ context.Context, w []string) (int, error) { return len(w), nil })
	_, _ = sl.Call(ctx, []string{"a b"})
	if y, _ := sl.Call(ctx, []string{"a", "b"}); y != 2 {
		t.Errorf("Call([a, b]) = %d (key %q): it shares [a b]'s key", y, sl.Key([]string{"a", "b"}))
	}
	// Scalars keep the keys they had.
	n := region.MustCacheOnArguments(r, func(_ context.Context, id int) (int, error) { return id, nil })
	if k := n.Key(42); !strings.HasSuffix(k, "|42") {
		t.Errorf("Key(42) = %q; want it to end in |42", k)
	}
}

// Bad durations in a flat configuration are refused with the key named:
// a negative expiration other than -1 (which means none), NaN, and a
// negative store TTL.
func TestFromConfigBadDurations(t *testing.T) {
	for _, v := range []any{"-30", "-5m", -30, "NaN", "1e300"} {
		err := region.New("r").ConfigureFromConfig(map[string]any{"p.backend": "memory", "p.expiration_time": v}, "p.")
		if err == nil || !strings.Contains(err.Error(), "expiration_time") {
			t.Errorf("expiration_time %#v: %v; want an error naming p.expiration_time", v, err)
		}
	}
	if err := region.New("r").ConfigureFromConfig(map[string]any{"p.backend": "memory", "p.expiration_time": -1}, "p."); err != nil {
		t.Errorf("expiration_time -1 (none): %v", err)
	}
	err := region.New("r").ConfigureFromConfig(map[string]any{"p.backend": "memory", "p.store_ttl": "-5"}, "p.")
	if err == nil || !strings.Contains(err.Error(), "p.store_ttl") {
		t.Errorf("store_ttl -5: %v; want an error naming p.store_ttl", err)
	}
}

// An expiration function is asked once per call, whatever the call
// reads: every key of a multi-key call, and both looks of a get-or-create,
// are judged by the same expiration.
func TestExpirationFuncOncePerCall(t *testing.T) {
	r, clk := setup(t, region.Config{})
	ctx := context.Background()
	_ = region.SetMulti(ctx, r, map[string]string{"a": "1", "b": "2", "c": "3"})
	var n atomic.Int64
	exp := region.WithExpirationFunc(func() time.Duration { n.Add(1); return time.Minute })
	_, _ = region.GetMulti[string](ctx, r, []string{"a", "b", "c"}, exp)
	if n.Load() != 1 {
		t.Errorf("GetMulti of 3 keys asked the expiration func %d times, want 1", n.Load())
	}
	clk.Advance(2 * time.Minute)
	n.Store(0)
	_, _ = region.GetOrCreate(ctx, r, "a", (&counter{}).create, exp)
	if n.Load() != 1 {
		t.Errorf("GetOrCreate over a stale value asked it %d times, want 1", n.Load())
	}
}

// Refresh stores what the function returned, whatever ShouldCache says,
// as dogpile's refresh does.
func TestFuncRefreshStoresWhatShouldCacheRefuses(t *testing.T) {
	r, _ := setup(t, region.Config{})
	ctx := context.Background()
	src := "old"
	fn := region.MustCacheOnArguments(r, func(_ context.Context, id int) (string, error) { return src, nil },
		region.ShouldCache(func(v string) bool { return v != "" }))
	_, _ = fn.Call(ctx, 1)
	src = ""
	got, _ := fn.Refresh(ctx, 1)
	if v, _ := fn.Call(ctx, 1); v != got {
		t.Fatalf("Refresh returned %q, then Call serves %q: the result was not stored", got, v)
	}
}

// A short key that spells a hashed one is hashed too, not passed through
// into the slot of the long key it names.
func TestLengthLimitedManglerLookalike(t *testing.T) {
	m := backend.LengthLimitedKeyMangler(64, "h:")
	r, _ := setup(t, region.Config{}, region.WithKeyMangler(m))
	ctx := context.Background()
	long := strings.Repeat("x", 100)
	lookalike := "h:" + backend.SHA1KeyMangler(long)
	_ = region.Set(ctx, r, long, "long")
	if v, ok, _ := region.Get[string](ctx, r, lookalike); ok {
		t.Fatalf("Get(%q) = %q: it shares the long key's slot", lookalike, v)
	}
}
