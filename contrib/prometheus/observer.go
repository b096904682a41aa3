package dogpileprom

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dogpile-go/dogpile/region"
)

// observer feeds a collector's histograms from region events.
type observer struct{ c *Collector }

// Observe records the latency of creations and lock waits; it returns at
// once for every other event, which the regions' counters already count.
func (o observer) Observe(ctx context.Context, e region.Event) {
	switch e.Kind {
	case region.EventCreated:
		o.c.record(ctx, o.c.creation.WithLabelValues(e.Region, "ok"), e.Duration)
	case region.EventCreateError:
		o.c.record(ctx, o.c.creation.WithLabelValues(e.Region, "error"), e.Duration)
	case region.EventLockWait:
		if e.Err != nil {
			// A wait on the backend's lock that failed (timeout, the
			// caller's context): it did not end with the creation, and
			// lock_waits_total counts it already.
			return
		}
		o.c.record(ctx, o.c.lockWait.WithLabelValues(e.Region), e.Duration)
	}
}

func (c *Collector) record(ctx context.Context, h prometheus.Observer, d time.Duration) {
	v := d.Seconds()
	if c.exemplar != nil {
		if l := c.exemplar(ctx); len(l) > 0 && validExemplar(l) {
			if eo, ok := h.(prometheus.ExemplarObserver); ok {
				eo.ObserveWithExemplar(v, l)
				return
			}
		}
	}
	h.Observe(v)
}

// validExemplar reports whether client_golang takes l as an exemplar's
// labels: it panics on others, which would fail the region call that
// reported the latency. An invalid exemplar is dropped, the latency kept.
func validExemplar(l prometheus.Labels) bool {
	runes := 0
	for name, value := range l {
		if name == "" || !utf8.ValidString(name) || strings.HasPrefix(name, "__") || !utf8.ValidString(value) {
			return false
		}
		runes += utf8.RuneCountInString(name) + utf8.RuneCountInString(value)
	}
	return runes <= prometheus.ExemplarMaxRunes
}
