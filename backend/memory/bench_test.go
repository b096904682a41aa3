package memory_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/memory"
)

// BenchmarkGetEntry reads present keys from every core, from a store with
// and without TTLs: with them, otter reads its clock on every read.
func BenchmarkGetEntry(b *testing.B) {
	ctx := context.Background()
	for _, ttl := range []bool{false, true} {
		s, err := memory.New(memory.Options{EnableTTL: ttl, MaxEntries: 10240})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		keys := make([]string, 1024)
		for i := range keys {
			keys[i] = "user:" + strconv.Itoa(i)
			if err := s.SetWithTTL(ctx, keys[i], backend.Entry{Value: 1, Meta: backend.Metadata{Created: time.Now(), Version: 1}}, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
		b.Run("ttl="+strconv.FormatBool(ttl), func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, ok := s.GetEntry(ctx, keys[i&1023]); !ok {
						b.Fatal("miss")
					}
					i++
				}
			})
		})
	}
}
