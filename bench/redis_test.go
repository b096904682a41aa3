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

// BenchmarkRedisHit compares, on one loopback Redis, a hit through
// region.GetOrCreate on the Redis store with a bare go-redis GET plus a
// decode of the same payload (CBOR, the store's default), and with a
// go-redis/cache Get (msgpack, no local cache), for two payloads: one
// profile (about 170 bytes encoded), where the round trip is nearly all
// of a hit, and a page of twenty (about 4 KB), a typical query result,
// where decoding counts too.
func BenchmarkRedisHit(b *testing.B) {
	rdb := goredis.NewClient(&goredis.Options{Addr: testenv.SharedRedis(b).Addr()})
	defer rdb.Close()
	b.Run("one", func(b *testing.B) {
		redisHit(b, rdb, "one", sampleProfile(), func(p profile) bool { return p.ID == 123456 })
	})
	b.Run("page20", func(b *testing.B) {
		redisHit(b, rdb, "page20", samplePage(), func(p page) bool { return len(p.Profiles) == 20 })
	})
}

// redisHit runs the three variants of BenchmarkRedisHit for one payload;
// ok checks what each hit returned.
func redisHit[T any](b *testing.B, rdb *goredis.Client, name string, want T, ok func(T) bool) {
	ctx := context.Background()
	b.Run("region", func(b *testing.B) {
		store, err := redis.New(redis.Options{Client: rdb, KeyPrefix: "bench:region:"})
		if err != nil {
			b.Fatal(err)
		}
		r := region.New("bench")
		r.MustConfigure(region.Config{Backend: store, Expiration: time.Hour})
		if err := region.Set(ctx, r, name, want); err != nil {
			b.Fatal(err)
		}
		create := func(context.Context) (T, error) { return want, nil }
		b.ReportAllocs()
		reportCPU(b, func() {
			for b.Loop() {
				v, err := region.GetOrCreate(ctx, r, name, create)
				if err != nil || !ok(v) {
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
		key := "bench:bare:" + name
		if err := rdb.Set(ctx, key, data, 0).Err(); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		reportCPU(b, func() {
			for b.Loop() {
				raw, err := rdb.Get(ctx, key).Bytes()
				if err != nil {
					b.Fatal(err)
				}
				var v T
				if err := serializer.CBOR.Unmarshal(raw, &v); err != nil || !ok(v) {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("go-redis-cache", func(b *testing.B) {
		c := rediscache.New(&rediscache.Options{Redis: rdb})
		key := "bench:grc:" + name
		if err := c.Set(&rediscache.Item{Ctx: ctx, Key: key, Value: want}); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		reportCPU(b, func() {
			for b.Loop() {
				var v T
				if err := c.Get(ctx, key, &v); err != nil || !ok(v) {
					b.Fatal(err)
				}
			}
		})
	})
}
