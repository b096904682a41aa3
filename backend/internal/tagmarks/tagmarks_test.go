package tagmarks_test

import (
	"errors"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend/internal/tagmarks"
)

func TestRoundTripAndEdits(t *testing.T) {
	now := time.Unix(1000, 0)
	m := tagmarks.Marks{}.With("a", now.Add(time.Minute)).With("b", now.Add(-time.Second))
	m = m.With("a", now.Add(2*time.Minute)) // renewal replaces
	got, err := tagmarks.Decode(m.Encode())
	if err != nil || len(got) != 2 || got[0].Owner != "a" || !got[0].End.Equal(now.Add(2*time.Minute)) {
		t.Fatalf("round trip = %+v, %v", got, err)
	}
	if !got.Pending(now) {
		t.Fatal("a live lease is not pending")
	}
	live := got.Live(now)
	if len(live) != 1 || live[0].Owner != "a" {
		t.Fatalf("Live = %+v, want only a", live)
	}
	if d := live.Longest(now); d != 2*time.Minute {
		t.Fatalf("Longest = %v", d)
	}
	rest, had := live.Without("a")
	if !had || len(rest) != 0 || rest.Pending(now) {
		t.Fatalf("Without(a) = %+v, %v", rest, had)
	}
	if _, had := rest.Without("a"); had {
		t.Fatal("Without of a missing owner reports it had one")
	}
	empty, err := tagmarks.Decode(tagmarks.Marks{}.Encode())
	if err != nil || len(empty) != 0 {
		t.Fatalf("empty marks = %+v, %v", empty, err)
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, b := range [][]byte{nil, {}, {9}, {1, 0, 0}, append([]byte{1}, make([]byte, 8)...)} {
		if _, err := tagmarks.Decode(b); !errors.Is(err, tagmarks.ErrBad) {
			t.Errorf("Decode(%x) = %v, want ErrBad", b, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(tagmarks.Marks{}.With("owner", time.Unix(5, 0)).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := tagmarks.Decode(b)
		if err != nil {
			return
		}
		again, err := tagmarks.Decode(m.Encode())
		if err != nil || len(again) != len(m) {
			t.Fatalf("re-decoding %x: %+v, %v", b, again, err)
		}
	})
}
