package memcached_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/memcached"
	"github.com/dogpile-go/dogpile/internal/testenv"
)

// Two different region keys must never reach the server as one key: a
// short key that happens to look like a mangled one ("sha1:" + 40 hex)
// is kept as it is, and collides with the long key it names.
func TestMangledKeyLookalike(t *testing.T) {
	srv := testenv.SharedMemcached(t)
	s := newStore(t, srv.Addr(), memcached.Options{})
	m := s.KeyMangler()
	long := "SELECT * FROM users WHERE id = $1 /* " + strings.Repeat("x", 300) + " */"
	lookalike := "sha1:" + backend.SHA1KeyMangler(long)
	if m(long) == m(lookalike) {
		t.Errorf("keys %.30q… and %q both mangle to %q", long, lookalike, m(long))
	}
	e1 := backend.Entry{Data: []byte("rows of the long query"), Meta: backend.Metadata{Created: time.Now(), Version: 1}}
	e2 := backend.Entry{Data: []byte("something else"), Meta: backend.Metadata{Created: time.Now(), Version: 1}}
	if err := s.Set(ctxBg, m(long), e1); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctxBg, m(lookalike), e2); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := s.Get(ctxBg, m(long)); err != nil || !ok || string(got.Data) != string(e1.Data) {
		t.Errorf("Get(long key) = %q, %v, %v; want %q (overwritten through another key)", got.Data, ok, err, e1.Data)
	}
}

// With mangling off, the creation lock of a key that looks like a hashed
// one is not the lock of the long key it names.
func TestLockKeyLookalike(t *testing.T) {
	srv := testenv.SharedMemcached(t)
	s := newStore(t, srv.Addr(), memcached.Options{DisableKeyMangling: true, KeyPrefix: t.Name() + ":"})
	long := "SELECT 1 /* " + strings.Repeat("x", 300) + " */"
	lookalike := "sha1:" + backend.SHA1KeyMangler(long)
	held := s.Mutex(long)
	if ok, err := held.TryLock(ctxBg); err != nil || !ok {
		t.Fatalf("TryLock(long) = %v, %v", ok, err)
	}
	defer held.Unlock(ctxBg)
	other := s.Mutex(lookalike)
	ok, err := other.TryLock(ctxBg)
	if err != nil || !ok {
		t.Fatalf("TryLock of the look-alike key = %v, %v; want its own lock, free", ok, err)
	}
	other.Unlock(ctxBg)
}
