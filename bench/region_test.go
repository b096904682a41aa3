package bench

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/viccon/sturdyc"

	"github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/region"
)

// The hit benchmarks read one of hitKeys keys, all present and fresh, from
// every core at once (RunParallel), with the value stored as a Go object.
const hitKeys = 1024

var keys = func() []string {
	k := make([]string, hitKeys)
	for i := range k {
		k[i] = "user:" + strconv.Itoa(i)
	}
	return k
}()

type user struct {
	ID   int
	Name string
}

var stored = &user{ID: 1, Name: "Ada"}

// create never runs on a hit; it is a plain function so that passing it
// allocates nothing.
func create(context.Context) (*user, error) { return stored, nil }

func fetch(context.Context) (*user, error) { return stored, nil }

// BenchmarkHit compares a cache hit through region.GetOrCreate on the
// memory backend with a raw otter v2 hit and a sturdyc GetOrFetch hit.
func BenchmarkHit(b *testing.B) {
	ctx := context.Background()
	b.Run("region", func(b *testing.B) {
		store, err := memory.New(memory.Options{MaxEntries: 10 * hitKeys})
		if err != nil {
			b.Fatal(err)
		}
		r := region.New("bench")
		r.MustConfigure(region.Config{Backend: store, Expiration: time.Hour})
		for _, k := range keys {
			if err := region.Set(ctx, r, k, stored); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				u, err := region.GetOrCreate(ctx, r, keys[i&(hitKeys-1)], create)
				if err != nil || u != stored {
					b.Fatal("miss")
				}
				i++
			}
		})
	})
	b.Run("otter", func(b *testing.B) {
		c := otter.Must(&otter.Options[string, *user]{MaximumSize: 10 * hitKeys})
		for _, k := range keys {
			c.Set(k, stored)
		}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				u, ok := c.GetIfPresent(keys[i&(hitKeys-1)])
				if !ok || u != stored {
					b.Fatal("miss")
				}
				i++
			}
		})
	})
	b.Run("sturdyc", func(b *testing.B) {
		c := sturdyc.New[*user](10*hitKeys, 16, time.Hour, 10)
		for _, k := range keys {
			c.Set(k, stored)
		}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				u, err := sturdyc.GetOrFetch(ctx, c, keys[i&(hitKeys-1)], fetch)
				if err != nil || u != stored {
					b.Fatal("miss")
				}
				i++
			}
		})
	})
}
