package region

import (
	"sync"
	"testing"
)

func TestStripedCountsEveryIncrement(t *testing.T) {
	var s striped
	const goroutines, each = 64, 5000
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				s.inc()
			}
		})
	}
	wg.Wait()
	if got := s.value(); got != goroutines*each {
		t.Fatalf("value = %d after %d increments", got, goroutines*each)
	}
}
