package redis_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/redis"
	"github.com/dogpile-go/dogpile/internal/testenv"
)

// An entry whose key spells a tag's version key must not take that key
// over: entry keys are the caller's (a region passes them as they are),
// and a record in place of a version makes every bump of the tag fail for
// good (INCR on a non-integer), so a commit's bump is owed forever.
func TestEntryKeyCannotClobberTagVersion(t *testing.T) {
	s := newStore(t, redis.Options{URL: testenv.SharedRedis(t).URL(), KeyPrefix: uniquePrefix(t)})
	ctx := context.Background()
	if _, err := s.TagStates(ctx, []string{"t"}); err != nil {
		t.Fatal(err)
	}
	setErr := s.Set(ctx, "tag:{t}:v", backend.Entry{Data: []byte("x"), Meta: backend.Metadata{Created: time.Now()}})
	if err := s.BumpTags(ctx, []string{"t"}); err != nil {
		t.Fatalf("after Set(\"tag:{t}:v\") = %v, BumpTags of tag t fails: %v", setErr, err)
	}
	if _, err := s.TagStates(ctx, []string{"t"}); err != nil {
		t.Fatalf("after Set(\"tag:{t}:v\") = %v, TagStates of tag t fails: %v", setErr, err)
	}
}

// Nor may an entry whose key spells another key's lock take the lock
// over: the lock's holder would lose it, and no one could take it while
// the entry lasts.
func TestEntryKeyCannotClobberALock(t *testing.T) {
	s := newStore(t, redis.Options{URL: testenv.SharedRedis(t).URL(), KeyPrefix: uniquePrefix(t)})
	ctx := context.Background()
	m := s.Mutex("k")
	if ok, err := m.TryLock(ctx); err != nil || !ok {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}
	if err := s.Set(ctx, "lock:k", backend.Entry{Data: []byte("x"), Meta: backend.Metadata{Created: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	if err := m.Unlock(ctx); err != nil {
		t.Fatalf("Unlock after Set(\"lock:k\") = %v; the entry took the lock's key", err)
	}
	if e, ok, err := s.Get(ctx, "lock:k"); err != nil || !ok || string(e.Data) != "x" {
		t.Fatalf("Get(\"lock:k\") = %q, %v, %v", e.Data, ok, err)
	}
}

// A LockPrefix that entry keys could be escaped into, or that spells tag
// keys, is refused.
func TestLockPrefixClashesRefused(t *testing.T) {
	for _, p := range []string{"~l:", "tag:", "tags"} {
		_, err := redis.New(redis.Options{URL: testenv.SharedRedis(t).URL(), LockPrefix: p})
		if !errors.Is(err, backend.ErrBadArgument) || !strings.Contains(err.Error(), "LockPrefix") {
			t.Errorf("New with LockPrefix %q = %v; want ErrBadArgument naming LockPrefix", p, err)
		}
	}
}
