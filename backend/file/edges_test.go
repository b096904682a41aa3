package file_test

import (
	"math"
	"os"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/file"
)

// A very long TTL ("keep it forever", e.g. math.MaxInt64 as a store TTL)
// must not make the entry vanish at once.
func TestHugeTTLKeepsEntry(t *testing.T) {
	s := newStore(t, file.Options{NoSync: true})
	e := backend.Entry{Data: []byte("v"), Meta: backend.Metadata{Created: time.Now(), Version: 1}}
	for _, ttl := range []time.Duration{250 * 365 * 24 * time.Hour, time.Duration(math.MaxInt64)} {
		if err := s.SetWithTTL(ctxBg, "k", e, ttl); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := s.Get(ctxBg, "k"); err != nil || !ok {
			t.Errorf("SetWithTTL(%v) then Get = %v, %v; want the entry", ttl, ok, err)
		}
	}
}

// Removing the data file (the usual way to flush a dbm cache) must not
// let tag versions restart where entries written before can meet them
// again: a version read before the removal comes back after two bumps.
func TestTagVersionsSurviveFileRemoval(t *testing.T) {
	s := newStore(t, file.Options{NoSync: true})
	tag := "public.users"
	if err := s.BumpTags(ctxBg, []string{tag}); err != nil { // version 1
		t.Fatal(err)
	}
	if err := s.BumpTags(ctxBg, []string{tag}); err != nil { // version 2
		t.Fatal(err)
	}
	old := mustStates(t, s, tag)[0].Version // a reader records this, then queries the database
	if err := os.Remove(s.Path()); err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]bool{}
	for range 3 { // writers commit and bump
		if err := s.BumpTags(ctxBg, []string{tag}); err != nil {
			t.Fatal(err)
		}
		v := mustStates(t, s, tag)[0].Version
		seen[v] = true
	}
	if seen[old] {
		t.Fatalf("after the data file was removed, tag %q came back to version %d, which an entry read before the bumps holds", tag, old)
	}
}

// A pending mark with a very long lease must stay pending.
func TestHugeLeaseStaysPending(t *testing.T) {
	s := newStore(t, file.Options{NoSync: true})
	if err := s.MarkPending(ctxBg, []string{"t"}, "w", time.Duration(math.MaxInt64)); err != nil {
		t.Fatal(err)
	}
	if st := mustStates(t, s, "t")[0]; !st.Pending {
		t.Fatalf("tag marked with lease %v: %+v, want pending", time.Duration(math.MaxInt64), st)
	}
}
