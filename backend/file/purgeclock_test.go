package file_test

import (
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend/file"
	"github.com/dogpile-go/dogpile/clock"
)

// A clock set back (an NTP step after a boot with the clock ahead, or a
// process with another Clock) leaves the file's last purge in the future.
// Writes must not wait for the clock to reach it before they purge again:
// a purge dated after now is as due as one a purge interval old.
func TestPurgeAfterClockStepsBack(t *testing.T) {
	c := clock.NewManual(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	s := newStore(t, file.Options{Clock: c, PurgeInterval: time.Hour}) // New's write notes a purge in 2030
	c.Set(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	for _, k := range []string{"a", "b", "c"} {
		if err := s.SetWithTTL(ctxBg, k, entry(k), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	c.Advance(2 * time.Hour) // expired, and more than a purge interval later
	if err := s.Set(ctxBg, "x", entry("x")); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.RawLen(ctxBg); n != 1 {
		t.Fatalf("%d records after a write two purge intervals after the clock was set back, want 1 (x): the purge waits for the clock to reach 2030", n)
	}
}
