package dogpileprom

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a [Collector]. The zero value of each field means its
// default.
type Options struct {
	// Namespace is the first part of every metric name. Default:
	// "dogpile", giving dogpile_region_hits_total and the like.
	Namespace string

	// ConstLabels are added to every series (the service's name, say).
	// They must not use the labels the collector sets itself: region,
	// pool, tags and result, nor "le", which histograms reserve. Default:
	// none.
	ConstLabels prometheus.Labels

	// CreationBuckets are the upper bounds, in seconds and increasing, of
	// the buckets of the creation-latency histogram. Default:
	// prometheus.DefBuckets (5ms to 10s).
	CreationBuckets []float64

	// LockWaitBuckets are the upper bounds, in seconds and increasing, of
	// the buckets of the lock-wait histogram. Default:
	// prometheus.DefBuckets.
	LockWaitBuckets []float64

	// Exemplar, when set, is asked for the labels of an exemplar to attach
	// to each latency the [Collector.Observer] records: typically the
	// trace ID of ctx's span, which links a slow bucket to a trace. It
	// returns nil for none. Labels that are not valid exemplar labels (128
	// runes at most, names and values together, valid UTF-8) are dropped:
	// the latency is recorded without them. Exemplars are exposed in the
	// OpenMetrics format only. Default: none.
	Exemplar func(ctx context.Context) prometheus.Labels
}

// withDefaults returns o with defaults filled in, and what is wrong with
// it, if anything.
func (o Options) withDefaults() (Options, error) {
	if o.Namespace == "" {
		o.Namespace = "dogpile"
	}
	var err error
	for name := range o.ConstLabels {
		if name == "le" {
			// client_golang accepts it in the descriptor but panics when
			// the histograms' first series is made, on the region's hot
			// path.
			err = fmt.Errorf("%w: ConstLabels: %q is not allowed as a label name of histograms", ErrBadOptions, name)
		}
	}
	for _, b := range []struct {
		name    string
		buckets *[]float64
	}{{"CreationBuckets", &o.CreationBuckets}, {"LockWaitBuckets", &o.LockWaitBuckets}} {
		if len(*b.buckets) == 0 {
			*b.buckets = prometheus.DefBuckets
			continue
		}
		if !increasing(*b.buckets) && err == nil {
			err = fmt.Errorf("%w: %s %v are not increasing", ErrBadOptions, b.name, *b.buckets)
			// Keep the histogram constructible: client_golang panics on
			// such buckets, and the error is reported at registration.
			*b.buckets = prometheus.DefBuckets
		}
	}
	return o, err
}

func increasing(xs []float64) bool {
	for i := 1; i < len(xs); i++ {
		if !(xs[i] > xs[i-1]) {
			return false
		}
	}
	return true
}
