package dogpileprom

import (
	"context"
	"time"

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
		o.c.record(ctx, o.c.lockWait.WithLabelValues(e.Region), e.Duration)
	}
}

func (c *Collector) record(ctx context.Context, h prometheus.Observer, d time.Duration) {
	v := d.Seconds()
	if c.exemplar != nil {
		if l := c.exemplar(ctx); len(l) > 0 {
			if eo, ok := h.(prometheus.ExemplarObserver); ok {
				eo.ObserveWithExemplar(v, l)
				return
			}
		}
	}
	h.Observe(v)
}
