package region_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/region"
)

// A negative per-call expiration (other than NoExpiration), or a negative
// result of an expiration function, is an error: taken as is it counted as
// "no expiration", so a value meant to be already stale was served forever.
func TestNegativeCallExpirationIsRefused(t *testing.T) {
	ctx := context.Background()
	r, clk := setup(t, region.Config{Expiration: time.Minute})
	var c counter
	if _, err := region.GetOrCreate(ctx, r, "k", c.create); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	neg := region.WithExpiration(-5 * time.Second)
	negFunc := region.WithExpirationFunc(func() time.Duration { return -time.Second })
	for _, opt := range []region.CallOption{neg, negFunc} {
		v, err := region.GetOrCreate(ctx, r, "k", c.create, opt)
		if !errors.Is(err, region.ErrBadConfig) {
			t.Errorf("GetOrCreate with a negative expiration = %q, %v; want ErrBadConfig", v, err)
		}
		if _, ok, err := region.Get[string](ctx, r, "k", opt); ok || !errors.Is(err, region.ErrBadConfig) {
			t.Errorf("Get with a negative expiration: ok %v, err %v; want ErrBadConfig", ok, err)
		}
		if _, err := region.GetMulti[string](ctx, r, []string{"k"}, opt); !errors.Is(err, region.ErrBadConfig) {
			t.Errorf("GetMulti with a negative expiration: err %v; want ErrBadConfig", err)
		}
	}
	neverR, _ := setup(t, region.Config{ExpirationFunc: func() time.Duration { return -time.Minute }})
	if _, err := region.GetOrCreate(ctx, neverR, "k", c.create); !errors.Is(err, region.ErrBadConfig) {
		t.Errorf("a region ExpirationFunc returning -1m: err %v; want ErrBadConfig", err)
	}
	// NoExpiration stays the way to say "never".
	if v, err := region.GetOrCreate(ctx, r, "k", c.create, region.WithExpiration(region.NoExpiration)); err != nil || v != "v1" {
		t.Errorf("WithExpiration(NoExpiration) = %q, %v; want the stored v1", v, err)
	}
}
