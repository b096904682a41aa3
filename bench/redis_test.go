package bench

import (
	"context"
	"testing"
	"time"

	rediscache "github.com/go-redis/cache/v9"
	goredis "github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/backend/redis"
	"github.com/dogpile-go/dogpile/internal/testenv"
	"github.com/dogpile-go/dogpile/region"
	"github.com/dogpile-go/dogpile/serializer"
)

func createProfile(context.Context) (profile, error) { return sampleProfile(), nil }

// BenchmarkRedisHit compares, on one loopback Redis, a hit through
// region.GetOrCreate on the Redis store with a bare go-redis GET plus a
// decode of the same payload (CBOR, the store's default), and with a
// go-redis/cache Get (msgpack, no local cache).
func BenchmarkRedisHit(b *testing.B) {
	srv := testenv.SharedRedis(b)
	ctx := context.Background()
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	want := sampleProfile()

	b.Run("region", func(b *testing.B) {
		store, err := redis.New(redis.Options{Client: rdb, KeyPrefix: "bench:region:"})
		if err != nil {
			b.Fatal(err)
		}
		r := region.New("bench")
		r.MustConfigure(region.Config{Backend: store, Expiration: time.Hour})
		if err := region.Set(ctx, r, "profile", want); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		reportCPU(b, func() {
			for b.Loop() {
				p, err := region.GetOrCreate(ctx, r, "profile", createProfile)
				if err != nil || p.ID != want.ID {
					b.Fatal("miss", err)
				}
			}
		})
		if st := r.Stats(); st.Misses != 0 {
			b.Fatalf("%d misses", st.Misses)
		}
	})
	b.Run("go-redis_GET+decode", func(b *testing.B) {
		data, err := serializer.CBOR.Marshal(want)
		if err != nil {
			b.Fatal(err)
		}
		rdb.Set(ctx, "bench:bare:profile", data, 0)
		b.ReportAllocs()
		reportCPU(b, func() {
			for b.Loop() {
				raw, err := rdb.Get(ctx, "bench:bare:profile").Bytes()
				if err != nil {
					b.Fatal(err)
				}
				var p profile
				if err := serializer.CBOR.Unmarshal(raw, &p); err != nil || p.ID != want.ID {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("go-redis-cache", func(b *testing.B) {
		c := rediscache.New(&rediscache.Options{Redis: rdb})
		if err := c.Set(&rediscache.Item{Ctx: ctx, Key: "bench:grc:profile", Value: want}); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		reportCPU(b, func() {
			for b.Loop() {
				var p profile
				if err := c.Get(ctx, "bench:grc:profile", &p); err != nil || p.ID != want.ID {
					b.Fatal(err)
				}
			}
		})
	})
}
