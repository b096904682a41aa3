package bench

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/backend/redis"
	"github.com/dogpile-go/dogpile/backend/tiered"
	"github.com/dogpile-go/dogpile/internal/testenv"
	"github.com/dogpile-go/dogpile/region"
	"github.com/dogpile-go/dogpile/serializer"
)

// page is a query result of a typical size: twenty profiles, about 4 KB
// once encoded.
type page struct {
	Profiles []profile
}

func samplePage() page {
	p := page{Profiles: make([]profile, 20)}
	for i := range p.Profiles {
		p.Profiles[i] = sampleProfile()
		p.Profiles[i].ID += int64(i)
	}
	return p
}

func createPage(context.Context) (page, error) { return samplePage(), nil }

// tieredRuns keeps the key prefixes of repeated runs (-count) apart.
var tieredRuns atomic.Int64

// BenchmarkTieredHit compares, in one run, a hit through region.GetOrCreate
// on the two-tier store with the same hit on a memory-only store and on a
// Redis store (one loopback Redis), untagged and tagged, for a payload of
// about 4 KB. Every store keeps bytes (the memory store is the serialized
// one), so each hit decodes the payload alike and the difference is where
// the bytes come from. A tagged hit on the tiered store in strict coherence
// reads the tag states from Redis (one round trip without the payload); in
// bounded coherence it reads cached states (no round trip).
//
//	cd bench && go test -run '^$' -bench TieredHit -benchmem
func BenchmarkTieredHit(b *testing.B) {
	url := testenv.SharedRedis(b).URL()
	ctx := context.Background()
	want := samplePage()
	if data, err := serializer.Default.Marshal(want); err == nil {
		b.Logf("payload: %d bytes encoded", len(data))
	}
	type storeCase struct {
		name   string
		tagged bool
		open   func(b *testing.B, prefix string) backend.Backend
	}
	mkTiered := func(c tiered.Coherence) func(b *testing.B, prefix string) backend.Backend {
		return func(b *testing.B, prefix string) backend.Backend {
			s, err := tiered.New(tiered.Options{Redis: &redis.Options{URL: url, KeyPrefix: prefix}, Coherence: c})
			if err != nil {
				b.Fatal(err)
			}
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := s.WaitHealthy(wctx); err != nil {
				b.Fatal(err)
			}
			return s
		}
	}
	memoryStore := func(b *testing.B, _ string) backend.Backend {
		s, err := memory.New(memory.Options{Serialized: true, MaxBytes: 64 << 20})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	redisStore := func(b *testing.B, prefix string) backend.Backend {
		s, err := redis.New(redis.Options{URL: url, KeyPrefix: prefix})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	cases := []storeCase{
		{"untagged/memory", false, memoryStore},
		{"untagged/redis", false, redisStore},
		{"untagged/tiered", false, mkTiered(tiered.Strict)},
		{"tagged/memory", true, memoryStore},
		{"tagged/redis", true, redisStore},
		{"tagged/tiered-strict", true, mkTiered(tiered.Strict)},
		{"tagged/tiered-bounded", true, mkTiered(tiered.Bounded)},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			store := tc.open(b, fmt.Sprintf("bench:tiered%d:", tieredRuns.Add(1)))
			defer backend.Close(store)
			r := region.New("bench").MustConfigure(region.Config{Backend: store, Expiration: time.Hour})
			var opts []region.CallOption
			if tc.tagged {
				opts = append(opts, region.WithTags("app:t:public.profiles"))
			}
			if _, err := region.GetOrCreate(ctx, r, "page", createPage, opts...); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			reportCPU(b, func() {
				for b.Loop() {
					p, err := region.GetOrCreate(ctx, r, "page", createPage, opts...)
					if err != nil || len(p.Profiles) != len(want.Profiles) {
						b.Fatal("miss", err)
					}
				}
			})
			if st := r.Stats(); st.Misses != 1 {
				b.Fatalf("%d misses, want the first call's only", st.Misses)
			}
			if s, ok := store.(*tiered.Store); ok {
				if st := s.Stats(); st.NearHits < uint64(b.N) {
					b.Fatalf("%d near hits for %d calls", st.NearHits, b.N)
				}
			}
		})
	}
}
