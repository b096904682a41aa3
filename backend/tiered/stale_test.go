package tiered_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend/redis"
	"github.com/dogpile-go/dogpile/backend/tiered"
	"github.com/dogpile-go/dogpile/internal/testenv"
	"github.com/dogpile-go/dogpile/invalidation"
	"github.com/dogpile-go/dogpile/region"
)

// rows is what the test caches for a query: the table's value when it was
// read, padded to a typical result's size.
type rows struct {
	V   int64
	Pad []byte
}

// Two processes read and write a "database" of a few tables through
// regions with tagged calls over tiered stores, on a Redis of 2 MB that
// evicts any key (entries, tag versions, pending marks) under churn. Every
// read is checked against the ground truth: no read that began after a
// commit returned may return the table as it was before that commit, even
// when the version an entry recorded has been evicted since.
func TestNoStaleReadsUnderEviction(t *testing.T) {
	srv := testenv.NewRedis(t, testenv.RedisOptions{MaxMemory: "2mb", MaxMemoryPolicy: "allkeys-lru"})
	prefix := uniquePrefix(t)
	const (
		tables   = 6
		perTable = 12
		duration = 2 * time.Second
	)
	var (
		db        [tables]atomic.Int64 // the tables' contents
		committed [tables]atomic.Int64 // the value of the last commit that returned
	)
	type process struct {
		store *tiered.Store
		tags  *invalidation.Tags
		r     *region.Region
	}
	procs := make([]process, 2)
	for i := range procs {
		ro := redis.Options{URL: srv.URL(), KeyPrefix: prefix}
		s := open(t, tiered.Options{Redis: &ro})
		tags, err := invalidation.NewTags(s, invalidation.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tags.Close(ctxBg) })
		r := region.New(fmt.Sprint("p", i)).MustConfigure(region.Config{Backend: tags, Expiration: time.Hour, FailOnBackendError: true})
		procs[i] = process{s, tags, r}
	}
	tag := func(table int) string { return "t:" + strconv.Itoa(table) }
	pad := make([]byte, 2048)
	_, _ = rand.Read(pad)

	var (
		wg                           sync.WaitGroup
		reads, writes, stale, errors atomic.Int64
		firstErr                     sync.Once
	)
	fail := func(err error) {
		errors.Add(1)
		firstErr.Do(func() { t.Error(err) })
	}
	deadline := time.Now().Add(duration)
	for p := range procs {
		proc := procs[p]
		// A writer per process: a transaction per table write.
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				table := (i*7 + p) % tables
				ws := proc.tags.Begin()
				if err := ws.Touch(ctxBg, tag(table)); err != nil {
					fail(err)
					return
				}
				v := db[table].Add(1) // the write, visible at commit
				if err := ws.Commit(ctxBg); err != nil {
					fail(err)
					return
				}
				for { // committed only moves forward
					c := committed[table].Load()
					if c >= v || committed[table].CompareAndSwap(c, v) {
						break
					}
				}
				writes.Add(1)
				time.Sleep(time.Millisecond)
			}
		})
		// Readers: each read checks that it saw at least every commit that
		// returned before it began.
		for g := range 2 {
			wg.Go(func() {
				for i := 0; time.Now().Before(deadline); i++ {
					table := (i + g + p) % tables
					key := fmt.Sprintf("q:%d:%d", table, i%perTable)
					floor := committed[table].Load()
					got, err := region.GetOrCreate(ctxBg, proc.r, key, func(context.Context) (rows, error) {
						return rows{V: db[table].Load(), Pad: pad}, nil
					}, region.WithTags(tag(table)))
					if err != nil {
						fail(err)
						return
					}
					reads.Add(1)
					if got.V < floor {
						stale.Add(1)
						firstErr.Do(func() {
							t.Errorf("stale read of %s: %d, but %d had committed before the read began", key, got.V, floor)
						})
					}
				}
			})
		}
	}
	// Churn: other keys fill the 2 MB, so Redis evicts all the time.
	wg.Go(func() {
		junk := strings.Repeat("j", 4096)
		rdb := procs[0].store.Far().Client()
		for i := 0; time.Now().Before(deadline); i++ {
			if err := rdb.Set(ctxBg, fmt.Sprint(prefix, "junk:", i), junk, 0).Err(); err != nil {
				fail(err)
				return
			}
		}
	})
	wg.Wait()

	info, err := procs[0].store.Far().Client().Info(ctxBg, "stats").Result()
	if err != nil {
		t.Fatal(err)
	}
	evicted := infoField(info, "evicted_keys")
	var nearHits uint64
	for _, p := range procs {
		nearHits += p.store.Stats().NearHits
	}
	t.Logf("%d reads (%d near hits), %d commits, %d stale, %d errors; Redis evicted %s keys",
		reads.Load(), nearHits, writes.Load(), stale.Load(), errors.Load(), evicted)
	if evicted == "" || evicted == "0" {
		t.Error("Redis evicted nothing: the test did not exercise eviction")
	}
	if nearHits == 0 {
		t.Error("no near hits: the test did not exercise the near tier")
	}
}

// infoField returns a field of a Redis INFO reply.
func infoField(info, name string) string {
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}
