package clock_test

import (
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/clock"
)

func TestManual(t *testing.T) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	c := clock.NewManual(start)
	if !c.Now().Equal(start) {
		t.Fatalf("Now = %v, want %v", c.Now(), start)
	}
	if got := c.Advance(time.Hour); !got.Equal(start.Add(time.Hour)) || !c.Now().Equal(got) {
		t.Fatalf("Advance(1h) = %v, Now = %v", got, c.Now())
	}
	c.Set(start)
	if !c.Now().Equal(start) {
		t.Fatalf("after Set, Now = %v", c.Now())
	}
}

func TestSystem(t *testing.T) {
	before := time.Now()
	got := clock.System.Now()
	if got.Before(before) || got.Sub(before) > time.Minute {
		t.Fatalf("System.Now() = %v, around %v expected", got, before)
	}
}

func TestCoarse(t *testing.T) {
	c := clock.NewCoarse(time.Millisecond)
	defer c.Stop()
	first := c.Now()
	if d := time.Since(first); d < 0 || d > time.Second {
		t.Fatalf("coarse clock is %v away from the wall clock", d)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !c.Now().After(first) {
		if time.Now().After(deadline) {
			t.Fatal("coarse clock did not tick within 5s")
		}
		time.Sleep(time.Millisecond)
	}
	if c.NowNano() != c.Now().UnixNano() && c.NowNano() < first.UnixNano() {
		t.Fatal("NowNano went backwards")
	}
	c.Stop()
	c.Stop() // idempotent
	if clock.SystemCoarse() != clock.SystemCoarse() {
		t.Fatal("SystemCoarse is not shared")
	}
}
