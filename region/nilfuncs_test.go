package region_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dogpile-go/dogpile/region"
)

func double(_ context.Context, a int) (int, error) { return 2 * a, nil }

// A nil KeyFunc, or a key generator that makes no key function, is refused
// when the cached function is made, not found out by a nil-function panic
// on its first call.
func TestNilKeyFunctionIsRefused(t *testing.T) {
	r, _ := setup(t, region.Config{})
	if _, err := region.CacheOnArguments(r, double, region.KeyFunc[int](nil)); !errors.Is(err, region.ErrBadConfig) {
		t.Errorf("KeyFunc(nil): err %v, want ErrBadConfig", err)
	}
	noKeys := region.KeyGenerator(func(string, string) func(...any) string { return nil })
	if _, err := region.CacheOnArguments(r, double, noKeys); !errors.Is(err, region.ErrBadConfig) {
		t.Errorf("a generator returning nil: err %v, want ErrBadConfig", err)
	}
	if _, err := region.CacheMultiOnArguments(r, func(context.Context, []int) (map[int]int, error) { return nil, nil }, region.KeyFunc[int](nil)); !errors.Is(err, region.ErrBadConfig) {
		t.Errorf("CacheMultiOnArguments with KeyFunc(nil): err %v, want ErrBadConfig", err)
	}
}

// ShouldCache(nil) checks nothing, rather than failing every creation
// with a nil-function panic.
func TestShouldCacheNil(t *testing.T) {
	r, _ := setup(t, region.Config{})
	ctx := context.Background()
	var c counter
	v, err := region.GetOrCreate(ctx, r, "k", c.create, region.ShouldCache[string](nil))
	if err != nil || v != "v1" {
		t.Fatalf("GetOrCreate with ShouldCache(nil) = %q, %v", v, err)
	}
	if got, ok, err := region.Get[string](ctx, r, "k"); err != nil || !ok || got != "v1" {
		t.Fatalf("Get = %q, %v, %v; want the stored v1", got, ok, err)
	}
}
