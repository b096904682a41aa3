package integration_test

import (
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/file"
	"github.com/dogpile-go/dogpile/backend/memcached"
	"github.com/dogpile-go/dogpile/backend/memory"
	redisstore "github.com/dogpile-go/dogpile/backend/redis"
	"github.com/dogpile-go/dogpile/integration/harness"
)

// storeKind opens stores of one kind for a test. Stores of a shared kind
// opened twice reach the same data, as two processes' would.
type storeKind struct {
	name   string
	shared bool // two stores opened by open see one cache
	open   func(t *testing.T) func(t *testing.T) backend.Backend
}

var storeKinds = []storeKind{
	{name: "memory", open: func(*testing.T) func(*testing.T) backend.Backend {
		return func(t *testing.T) backend.Backend {
			s, err := memory.New(memory.Options{})
			return closing(t, s, err)
		}
	}},
	{name: "redis", shared: true, open: func(t *testing.T) func(*testing.T) backend.Backend {
		url := harness.SharedRedis(t).URL()
		return func(t *testing.T) backend.Backend {
			s, err := redisstore.New(redisstore.Options{URL: url})
			return closing(t, s, err)
		}
	}},
	{name: "redis cluster", shared: true, open: func(t *testing.T) func(*testing.T) backend.Backend {
		addrs := harness.SharedRedisCluster(t)
		return func(t *testing.T) backend.Backend {
			s, err := redisstore.New(redisstore.Options{Universal: &goredis.UniversalOptions{Addrs: addrs, IsClusterMode: true}})
			return closing(t, s, err)
		}
	}},
	{name: "memcached", shared: true, open: func(t *testing.T) func(*testing.T) backend.Backend {
		addr := harness.SharedMemcached(t).Addr()
		return func(t *testing.T) backend.Backend {
			s, err := memcached.New(memcached.Options{Servers: []string{addr}})
			return closing(t, s, err)
		}
	}},
	{name: "file", shared: true, open: func(t *testing.T) func(*testing.T) backend.Backend {
		name := filepath.Join(t.TempDir(), "cache.db")
		return func(t *testing.T) backend.Backend {
			s, err := file.New(file.Options{Filename: name, NoSync: true})
			return closing(t, s, err)
		}
	}},
}

type closer interface {
	backend.Backend
	Close() error
}

func closing[S closer](t *testing.T, s S, err error) backend.Backend {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// cachedsql on PostgreSQL with each store: a cached read, a write that
// invalidates it, a transaction that commits and one that rolls back,
// sql.ErrNoRows from the cache, and, on stores processes share, a second
// DB that is served what the first cached and sees what it writes.
func TestBackends(t *testing.T) {
	t.Parallel()
	pg := harness.SharedPostgres(t)
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			dsn := newItemsDB(t, pg)
			open := kind.open(t)
			ns := namespace(t)
			db := connect(t, dsn, open(t), ns)

			wantRead(t, db, 1, 10, false, "first read")
			wantRead(t, db, 1, 10, true, "second read")
			var all, again []item
			for _, dest := range []*[]item{&all, &again} {
				if err := db.Select(dest, "SELECT id, name, n FROM items ORDER BY id"); err != nil {
					t.Fatal(err)
				}
			}
			if len(again) != 3 || again[2] != (item{3, "three", 30}) {
				t.Fatalf("Select from the cache = %+v, want the three items", again)
			}

			mustWrite(t, db, 1, 11)
			wantRead(t, db, 1, 11, false, "after a write")
			wantRead(t, db, 1, 11, true, "the write's result cached")

			tx := db.MustBegin()
			tx.MustExec(writeN, 12, 1)
			var inTx int
			if err := tx.Get(&inTx, readN, 1); err != nil || inTx != 12 {
				t.Fatalf("read in the transaction = %d, %v; want its own write, 12", inTx, err)
			}
			wantRead(t, db, 1, 11, false, "outside the open transaction") // pending: neither served nor cached
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			wantRead(t, db, 1, 12, false, "after commit")

			wantRead(t, db, 1, 12, true, "the commit's result cached")

			tx = db.MustBegin()
			tx.MustExec(writeN, 99, 1)
			wantRead(t, db, 1, 12, false, "outside the transaction to roll back")
			if err := tx.Rollback(); err != nil {
				t.Fatal(err)
			}
			// The rollback released the mark without a bump: what was
			// cached before the transaction is valid again.
			wantRead(t, db, 1, 12, true, "after rollback")

			for i, hit := range []bool{false, true} {
				before := stats(db).Hits
				var n int
				if err := db.Get(&n, readN, 404); !errors.Is(err, sql.ErrNoRows) {
					t.Fatalf("read %d of a missing row: %v, want sql.ErrNoRows", i+1, err)
				}
				if got := stats(db).Hits > before; got != hit {
					t.Fatalf("read %d of a missing row: hit %v, want %v", i+1, got, hit)
				}
			}

			if !kind.shared {
				return
			}
			other := connect(t, dsn, open(t), ns) // another process, in effect
			wantRead(t, other, 1, 12, true, "second DB, on what the first cached")
			mustWrite(t, other, 1, 13)
			wantRead(t, db, 1, 13, false, "first DB, after the second wrote")
			wantRead(t, other, 1, 13, true, "second DB, on what the first cached again")
		})
	}
}
