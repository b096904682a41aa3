package tiered_test

import (
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend/redis"
	"github.com/dogpile-go/dogpile/backend/tiered"
	"github.com/dogpile-go/dogpile/internal/testenv"
)

// With NearTTL negative ("no limit") a near copy must still not outlive
// the entry in Redis (Options.NearTTL: "Whatever it is, a near copy never
// outlives the entry in Redis").
func TestNoNearTTLStillHonoursRedisTTL(t *testing.T) {
	ro := redis.Options{URL: testenv.SharedRedis(t).URL(), KeyPrefix: uniquePrefix(t)}
	s := open(t, tiered.Options{Redis: &ro, NearTTL: -1})
	if err := s.SetWithTTL(ctxBg, "k", entry("v"), 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if n := s.Far().Client().Exists(ctxBg, ro.KeyPrefix+"k").Val(); n != 0 {
		t.Fatalf("Redis still holds the key")
	}
	if _, ok, err := s.Get(ctxBg, "k"); err != nil || ok {
		t.Fatalf("Get 200ms after Redis dropped the entry = found %v, %v; the near copy outlived Redis's TTL", ok, err)
	}
}
