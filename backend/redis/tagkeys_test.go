package redis_test

import (
	"context"
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
