package memcached_test

import (
	"context"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/memcached"
	"github.com/dogpile-go/dogpile/internal/testenv"
)

// An entry whose key spells another key's lock item, or a tag's item,
// must not take it over: the lock's holder would lose it, and a record in
// place of a tag version breaks the tag's bumps.
func TestEntryKeysCannotTakeLockOrTagItems(t *testing.T) {
	s := newStore(t, testenv.SharedMemcached(t).Addr(), memcached.Options{})
	ctx := context.Background()
	put := func(key string) {
		t.Helper()
		if err := s.Set(ctx, key, backend.Entry{Data: []byte("x"), Meta: backend.Metadata{Created: time.Now()}}); err != nil {
			t.Fatal(err)
		}
	}
	m := s.Mutex("k")
	if ok, err := m.TryLock(ctx); err != nil || !ok {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}
	put("_lockk")
	if err := m.Unlock(ctx); err != nil {
		t.Fatalf("Unlock after Set(\"_lockk\") = %v; the entry took the lock's item", err)
	}

	before, err := s.TagStates(ctx, []string{"t"})
	if err != nil {
		t.Fatal(err)
	}
	put("_tagvt")
	put("_tagpt")
	if err := s.BumpTags(ctx, []string{"t"}); err != nil {
		t.Fatalf("BumpTags after entries named like tag t's items: %v", err)
	}
	after, err := s.TagStates(ctx, []string{"t"})
	if err != nil || after[0].Version == before[0].Version || after[0].Pending {
		t.Fatalf("tag t after a bump = %+v, %v (before %+v); want a new version, not pending", after, err, before)
	}
	for _, k := range []string{"_lockk", "_tagvt", "_tagpt"} {
		if e, ok, err := s.Get(ctx, k); err != nil || !ok || string(e.Data) != "x" {
			t.Fatalf("Get(%q) = %q, %v, %v", k, e.Data, ok, err)
		}
	}
}
