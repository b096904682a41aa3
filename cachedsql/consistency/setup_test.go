package consistency_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/redis"
	"github.com/dogpile-go/dogpile/backend/tiered"
	"github.com/dogpile-go/dogpile/cachedsql"
	"github.com/dogpile-go/dogpile/internal/testenv"
)

// nKeys is the size of the table every test reads and writes:
// kv(k int primary key, v bigint), keys 1…nKeys, all starting at v = 0.
const nKeys = 4

const (
	readOne = "SELECT v FROM kv WHERE k = $1"
	readAll = "SELECT k, v FROM kv ORDER BY k"
	write   = "UPDATE kv SET v = $1 WHERE k = $2"
)

// site is where one test's processes meet: a PostgreSQL database with the
// kv table, a Redis, and a cache namespace of the test's own.
type site struct {
	DSN       string
	RedisURL  string
	Namespace string
	// TwoTier puts each process's cache on a two-tier store (a memory
	// tier in front of Redis) instead of on Redis alone.
	TwoTier bool
}

func newSite(t *testing.T) site {
	t.Helper()
	s := site{
		DSN:       testenv.PostgresDB(t),
		RedisURL:  testenv.SharedRedis(t).URL(),
		Namespace: "consistency-" + randomHex(6),
	}
	testenv.Psql(t, s.DSN, fmt.Sprintf(
		"CREATE TABLE kv (k int PRIMARY KEY, v bigint NOT NULL); INSERT INTO kv SELECT k, 0 FROM generate_series(1, %d) k", nKeys))
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// handle is one cachedsql.DB on a site, as one process would open it: its
// own connections to PostgreSQL (through the hook driver), its own Redis
// client and its own tag protocol, on the site's shared namespace.
type handle struct {
	DB    *cachedsql.DB
	Hooks *hooks
	Store *redis.Store
	// stuck is set when goroutines using the handle never returned:
	// closing it would wait for them forever, so it is left open.
	stuck atomic.Bool
	close func()
}

// open opens a handle on s. wrap, when not nil, puts proxies around the
// Redis store (see stallingStore).
func (s site) open(wrap ...backend.Proxy) (*handle, error) {
	store, err := redis.New(redis.Options{URL: s.RedisURL})
	if err != nil {
		return nil, err
	}
	var b backend.Backend = store
	closeStore := func() { store.Close() }
	if s.TwoTier {
		ts, err := tiered.New(tiered.Options{Far: store, Channel: s.Namespace + ":tiered"})
		if err != nil {
			store.Close()
			return nil, err
		}
		b = ts
		closeStore = func() { ts.Close(); store.Close() }
	}
	if len(wrap) > 0 {
		if b, err = backend.Wrap(b, wrap...); err != nil {
			closeStore()
			return nil, err
		}
	}
	inner, h, err := openHooked(s.DSN)
	if err != nil {
		closeStore()
		return nil, err
	}
	// database/sql keeps two idle connections by default: with two dozen
	// goroutines most statements would open a new one.
	inner.SetMaxIdleConns(64)
	// NewDb reports options that cannot work from the first Ping.
	db := cachedsql.NewDb(inner, "pgx", cachedsql.WithBackend(b), cachedsql.WithNamespace(s.Namespace))
	db.SetMaxIdleConns(64)
	if err := db.PingContext(context.Background()); err != nil {
		db.Close()
		inner.Close()
		closeStore()
		return nil, err
	}
	hd := &handle{DB: db, Hooks: h, Store: store}
	hd.close = func() {
		if hd.stuck.Load() {
			return
		}
		db.Close()
		inner.Close()
		closeStore()
	}
	return hd, nil
}

func (s site) mustOpen(t *testing.T, wrap ...backend.Proxy) *handle {
	t.Helper()
	h, err := s.open(wrap...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.close)
	return h
}
