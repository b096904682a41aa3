package redis_test

import (
	"context"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/redis"
	"github.com/dogpile-go/dogpile/internal/testenv"
)

// The reads with TTL return each entry's remaining time to live in Redis:
// positive with a TTL, 0 without, nothing for a missing key.
func TestReadsWithTTL(t *testing.T) {
	for name, srv := range map[string]func(t *testing.T) redis.Options{
		"single": func(t *testing.T) redis.Options {
			return redis.Options{URL: testenv.SharedRedis(t).URL(), KeyPrefix: t.Name() + ":"}
		},
		"cluster": func(t *testing.T) redis.Options {
			c := testenv.SharedRedisCluster(t)
			return redis.Options{Universal: &goredis.UniversalOptions{Addrs: c.Addrs(), IsClusterMode: true}, KeyPrefix: t.Name() + ":"}
		},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := newStore(t, srv(t))
			e := backend.Entry{Data: []byte("v"), Meta: backend.Metadata{Created: time.Now(), Version: 1}}
			if err := s.SetWithTTL(ctx, "ttl", e, time.Hour); err != nil {
				t.Fatal(err)
			}
			if err := s.Set(ctx, "forever", e); err != nil {
				t.Fatal(err)
			}
			inHour := func(d time.Duration) bool { return d > 59*time.Minute && d <= time.Hour }

			got, left, ok, err := s.GetWithTTL(ctx, "ttl")
			if err != nil || !ok || string(got.Data) != "v" || !inHour(left) {
				t.Errorf("GetWithTTL(ttl) = %q, %v, %v, %v; want v with about an hour left", got.Data, left, ok, err)
			}
			if _, left, ok, err := s.GetWithTTL(ctx, "forever"); err != nil || !ok || left != 0 {
				t.Errorf("GetWithTTL(forever) = %v, %v, %v; want found, 0 left", left, ok, err)
			}
			if _, left, ok, err := s.GetWithTTL(ctx, "missing"); err != nil || ok || left != 0 {
				t.Errorf("GetWithTTL(missing) = %v, %v, %v; want not found", left, ok, err)
			}

			all, lefts, err := s.GetMultiWithTTL(ctx, []string{"ttl", "missing", "forever"})
			if err != nil || len(all) != 3 || len(lefts) != 3 {
				t.Fatalf("GetMultiWithTTL = %v, %v, %v", all, lefts, err)
			}
			if string(all[0].Data) != "v" || !inHour(lefts[0]) || !all[1].IsZero() || lefts[1] != 0 || string(all[2].Data) != "v" || lefts[2] != 0 {
				t.Errorf("GetMultiWithTTL = %v, %v; want v with an hour, missing, v with no TTL", all, lefts)
			}

			tagged, left, ok, states, err := s.GetTaggedWithTTL(ctx, "ttl", []string{"t"})
			if err != nil || !ok || string(tagged.Data) != "v" || !inHour(left) || len(states) != 1 {
				t.Errorf("GetTaggedWithTTL = %q, %v, %v, %v, %v; want v with about an hour left and one state", tagged.Data, left, ok, states, err)
			}
			if _, left, ok, states, err := s.GetTaggedWithTTL(ctx, "missing", []string{"t"}); err != nil || ok || left != 0 || len(states) != 1 {
				t.Errorf("GetTaggedWithTTL(missing) = %v, %v, %v, %v; want not found, with the tag's state", left, ok, states, err)
			}
		})
	}
}
