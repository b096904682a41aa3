package region_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/region"
)

type user struct {
	ID   int
	Name string
}

func loadUser(_ context.Context, id int) (user, error) {
	if id < 0 {
		return user{}, fmt.Errorf("no user %d", id)
	}
	return user{ID: id, Name: fmt.Sprint("user", id)}, nil
}

func TestCacheOnArguments(t *testing.T) {
	r, clk := setup(t, region.Config{Expiration: time.Minute})
	ctx := context.Background()
	var calls atomic.Int64
	fn := region.MustCacheOnArguments(r, func(ctx context.Context, id int) (user, error) {
		calls.Add(1)
		return loadUser(ctx, id)
	}, region.Namespace("v1"))

	if k := fn.Key(7); !strings.HasSuffix(k, "|v1|7") || !strings.Contains(k, "region_test") {
		t.Errorf("Key(7) = %q, want <package.function>|v1|7", k)
	}
	for range 2 {
		u, err := fn.Call(ctx, 7)
		if err != nil || u != (user{7, "user7"}) {
			t.Fatalf("Call(7) = %+v, %v", u, err)
		}
	}
	if calls.Load() != 1 {
		t.Fatalf("function ran %d times, want 1", calls.Load())
	}
	if _, err := fn.Call(ctx, -1); err == nil {
		t.Fatal("Call(-1) hid the function's error")
	}
	if err := fn.Set(ctx, 8, user{8, "set"}); err != nil {
		t.Fatal(err)
	}
	if u, ok, err := fn.Get(ctx, 8); err != nil || !ok || u.Name != "set" {
		t.Fatalf("Get(8) after Set = %+v, %v, %v", u, ok, err)
	}
	if u, err := fn.Refresh(ctx, 8); err != nil || u.Name != "user8" {
		t.Fatalf("Refresh(8) = %+v, %v", u, err)
	}
	if u, _, _ := fn.Get(ctx, 8); u.Name != "user8" {
		t.Fatalf("Get(8) after Refresh = %+v", u)
	}
	if err := fn.Invalidate(ctx, 8); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := fn.Get(ctx, 8); ok {
		t.Fatal("Get(8) after Invalidate found a value")
	}
	before := calls.Load()
	if u, err := fn.Original(ctx, 7); err != nil || u.ID != 7 || calls.Load() != before+1 {
		t.Fatalf("Original(7) = %+v, %v; must call the function", u, err)
	}
	clk.Advance(2 * time.Minute)
	if _, err := fn.Call(ctx, 7); err != nil || calls.Load() != before+2 {
		t.Fatalf("Call after expiry did not call the function (%d calls)", calls.Load())
	}
}

func TestCacheOnArgumentsKeys(t *testing.T) {
	r, _ := setup(t, region.Config{})
	tests := []struct {
		name string
		opts []region.FuncOption
		want string
	}{
		{"name and namespace", []region.FuncOption{region.FuncName("users.byID"), region.Namespace("ns")}, "users.byID|ns|5"},
		{"name only", []region.FuncOption{region.FuncName("users.byID")}, "users.byID|5"},
		{"key func", []region.FuncOption{region.KeyFunc(func(id int) string { return fmt.Sprint("user:", id) })}, "user:5"},
		{"key generator", []region.FuncOption{region.FuncName("f"), region.KeyGenerator(func(ns, name string) func(...any) string {
			return func(args ...any) string { return strings.ToUpper(name) + fmt.Sprint(args...) }
		})}, "F5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fn, err := region.CacheOnArguments(r, loadUser, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got := fn.Key(5); got != tc.want {
				t.Fatalf("Key(5) = %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := region.CacheOnArguments(r, loadUser, region.KeyFunc(func(s string) string { return s })); !errors.Is(err, region.ErrBadConfig) {
		t.Fatalf("KeyFunc of the wrong argument type = %v, want ErrBadConfig", err)
	}
	if _, err := region.CacheOnArguments[int, user](r, nil); !errors.Is(err, region.ErrBadConfig) {
		t.Fatalf("CacheOnArguments(nil) = %v, want ErrBadConfig", err)
	}
}

func TestRegionFuncKeyGenerator(t *testing.T) {
	gen := func(ns, name string) func(...any) string {
		return func(args ...any) string { return "custom:" + fmt.Sprint(args...) }
	}
	r, _ := setup(t, region.Config{}, region.WithFuncKeyGenerator(gen))
	fn := region.MustCacheOnArguments(r, loadUser)
	if k := fn.Key(3); k != "custom:3" {
		t.Fatalf("Key(3) = %q, want the region's generator's key", k)
	}
}

func TestCachedFunctionBeforeConfigure(t *testing.T) {
	r := region.New("later")
	fn := region.MustCacheOnArguments(r, loadUser)
	if _, err := fn.Call(context.Background(), 1); !errors.Is(err, region.ErrNotConfigured) {
		t.Fatalf("Call before Configure = %v, want ErrNotConfigured", err)
	}
	r.MustConfigure(region.Config{BackendName: "memory"})
	if u, err := fn.Call(context.Background(), 1); err != nil || u.ID != 1 {
		t.Fatalf("Call after Configure = %+v, %v", u, err)
	}
}

func TestCacheMultiOnArguments(t *testing.T) {
	r, _ := setup(t, region.Config{})
	ctx := context.Background()
	var asked [][]int
	fn := region.MustCacheMultiOnArguments(r, func(_ context.Context, ids []int) (map[int]user, error) {
		asked = append(asked, slices.Clone(ids))
		out := map[int]user{}
		for _, id := range ids {
			if id%10 != 0 { // multiples of ten do not exist
				out[id] = user{ID: id, Name: fmt.Sprint("user", id)}
			}
		}
		return out, nil
	}, region.FuncName("users"))
	got, err := fn.Call(ctx, 1, 2, 10)
	if err != nil || len(got) != 2 || got[1].ID != 1 || got[2].ID != 2 {
		t.Fatalf("Call(1, 2, 10) = %v, %v; want users 1 and 2 only", got, err)
	}
	got, err = fn.Call(ctx, 2, 3, 10)
	if err != nil || len(got) != 2 || got[3].ID != 3 {
		t.Fatalf("Call(2, 3, 10) = %v, %v", got, err)
	}
	if len(asked) != 2 || !slices.Equal(asked[1], []int{10, 3}) && !slices.Equal(asked[1], []int{3, 10}) {
		t.Fatalf("function asked %v; the second call must ask only for 3 and the uncached 10", asked)
	}
	if k := fn.Key(3); k != "users|3" {
		t.Errorf("Key(3) = %q", k)
	}
	if err := fn.Set(ctx, map[int]user{4: {4, "set"}}); err != nil {
		t.Fatal(err)
	}
	if g, _ := fn.Get(ctx, 4, 5); len(g) != 1 || g[4].Name != "set" {
		t.Fatalf("Get(4, 5) = %v", g)
	}
	if g, err := fn.Refresh(ctx, 4); err != nil || g[4].Name != "user4" {
		t.Fatalf("Refresh(4) = %v, %v", g, err)
	}
	if err := fn.Invalidate(ctx, 1, 2, 3, 4); err != nil {
		t.Fatal(err)
	}
	if g, _ := fn.Get(ctx, 1, 2, 3, 4); len(g) != 0 {
		t.Fatalf("Get after Invalidate = %v", g)
	}
	if g, _ := fn.Original(ctx, 1); g[1].ID != 1 {
		t.Fatalf("Original(1) = %v", g)
	}
}

// A multi-key function that reorders the keys it is given still has each
// value cached under its own key.
func TestCacheMultiOnArgumentsReordering(t *testing.T) {
	r, _ := setup(t, region.Config{})
	ctx := context.Background()
	fn := region.MustCacheMultiOnArguments(r, func(_ context.Context, ids []int) (map[int]int, error) {
		slices.Sort(ids)    // a common thing to do with ids
		slices.Reverse(ids) // and worse
		out := map[int]int{}
		for _, id := range ids {
			out[id] = id * 10
		}
		return out, nil
	})
	for range 2 {
		got, err := fn.Call(ctx, 9, 10, 3)
		if err != nil || got[9] != 90 || got[10] != 100 || got[3] != 30 {
			t.Fatalf("Call = %v, %v", got, err)
		}
	}
	if cached, _ := fn.Get(ctx, 9, 10, 3); cached[9] != 90 || cached[10] != 100 || cached[3] != 30 {
		t.Fatalf("cached values under the wrong keys: %v", cached)
	}
}

func TestTagsFor(t *testing.T) {
	r, _ := setup(t, region.Config{})
	ctx := context.Background()
	var calls atomic.Int64
	fn := region.MustCacheOnArguments(r, func(_ context.Context, id int) (string, error) {
		return fmt.Sprint("user", id, "#", calls.Add(1)), nil
	}, region.TagsFor(func(id int) []string { return []string{fmt.Sprint("user:", id)} }))
	a, _ := fn.Call(ctx, 5)
	b, _ := fn.Call(ctx, 7)
	if err := r.InvalidateTags(ctx, "user:5"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := fn.Get(ctx, 5); ok {
		t.Fatal("Get of an invalidated argument found a value")
	}
	if v, _ := fn.Call(ctx, 5); v == a {
		t.Fatal("Call of an invalidated argument served the old value")
	}
	if v, _ := fn.Call(ctx, 7); v != b {
		t.Fatal("another argument was invalidated")
	}
	// Set and Refresh store values tagged like Call's.
	if err := fn.Set(ctx, 8, "set"); err != nil {
		t.Fatal(err)
	}
	if v, _ := fn.Call(ctx, 8); v != "set" {
		t.Fatalf("Call after Set = %q: Set's value was not tagged like Call's", v)
	}
	before := calls.Load()
	if _, err := fn.Refresh(ctx, 8); err != nil {
		t.Fatal(err)
	}
	if v, _ := fn.Call(ctx, 8); calls.Load() != before+1 || v == "set" {
		t.Fatalf("after Refresh: %q with %d calls; want the refreshed value, cached", v, calls.Load()-before)
	}
	if _, err := region.CacheOnArguments(r, func(context.Context, int) (int, error) { return 0, nil },
		region.TagsFor(func(s string) []string { return nil })); !errors.Is(err, region.ErrBadConfig) {
		t.Fatalf("TagsFor of the wrong argument type = %v", err)
	}
}

// An untagged read of a value stored with tags still honours its tags.
func TestUntaggedReadOfTaggedValue(t *testing.T) {
	r, _ := setup(t, region.Config{})
	ctx := context.Background()
	_ = region.Set(ctx, r, "k", "old", region.WithTags("t"))
	if v, ok, _ := region.Get[string](ctx, r, "k"); !ok || v != "old" {
		t.Fatalf("untagged Get of a current tagged value = %q, %v", v, ok)
	}
	_ = r.InvalidateTags(ctx, "t")
	if _, ok, _ := region.Get[string](ctx, r, "k"); ok {
		t.Fatal("untagged Get served a value its tags invalidated")
	}
	if got, _ := region.GetMulti[string](ctx, r, []string{"k"}); len(got) != 0 {
		t.Fatal("untagged GetMulti served a value its tags invalidated")
	}
}
