package memcached

import (
	"math"
	"time"
)

// maxRelative is the longest expiry memcached reads as relative to now:
// a larger number is a Unix time (memcached's REALTIME_MAXDELTA, 30 days).
const maxRelative = 30 * 24 * time.Hour

// expiry turns a TTL into memcached's expiry field: 0 for no TTL, the
// number of seconds (rounded up, so an entry never goes sooner than asked)
// up to 30 days, and past that the Unix time at which it goes, as memcached
// reads any larger number as an absolute time. That time is read from the
// client's clock and compared with the server's, so the two should agree;
// a time past what the field holds (2038) is clamped to its largest value.
func expiry(ttl time.Duration, now time.Time) int32 {
	if ttl <= 0 {
		return 0
	}
	if ttl <= maxRelative {
		return int32((ttl + time.Second - 1) / time.Second)
	}
	at := now.Add(ttl)
	unix := at.Unix()
	if at.Nanosecond() > 0 {
		unix++
	}
	if unix > math.MaxInt32 || at.Before(now) { // beyond 2038, or overflowed
		return math.MaxInt32
	}
	return int32(unix)
}
