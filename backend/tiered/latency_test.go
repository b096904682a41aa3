package tiered_test

import (
	"slices"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend/tiered"
)

// The bound of bounded coherence (and of untagged entries) is the time
// from a PUBLISH to its receipt in another process: measured here between
// two stores, each with its own connection, over 1,000 messages.
func TestDeliveryLatency(t *testing.T) {
	a, b := pair(t, tiered.Options{})
	got := make(chan time.Time, 1)
	tiered.SetMessageHook(b, func(byte, []string) { got <- time.Now() })
	const n = 1000
	lat := make([]time.Duration, n)
	for i := range n {
		start := time.Now()
		if err := tiered.PublishKeys(ctxBg, a, "k"); err != nil {
			t.Fatal(err)
		}
		select {
		case at := <-got:
			lat[i] = at.Sub(start)
		case <-time.After(deliveryBound):
			t.Fatalf("message %d not received within %v", i, deliveryBound)
		}
	}
	slices.Sort(lat)
	p50, p99, worst := lat[n/2], lat[n*99/100], lat[n-1]
	t.Logf("publish → receipt over %d messages: p50 %v, p99 %v, max %v", n, p50, p99, worst)
	// Loose: the machine is shared. The point is that the bound of bounded
	// coherence is the delivery delay, far under MaxTagAge's default.
	if p99 > 100*time.Millisecond {
		t.Errorf("p99 delivery %v", p99)
	}
}
