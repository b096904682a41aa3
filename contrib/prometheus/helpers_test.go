package dogpileprom_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/clock"
	"github.com/dogpile-go/dogpile/region"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// newRegion makes a region on the registered memory backend, with a manual
// clock so that staleness comes from moving it.
func newRegion(t *testing.T, name string, opts ...region.Option) (*region.Region, *clock.Manual) {
	t.Helper()
	clk := clock.NewManual(t0)
	r := region.New(name, append([]region.Option{region.WithClock(clk)}, opts...)...)
	if err := r.Configure(region.Config{BackendName: "memory", Expiration: time.Hour}); err != nil {
		t.Fatal(err)
	}
	return r, clk
}

// scrape fetches reg's metrics over HTTP, as Prometheus would, and returns
// the value of every series by its name and labels, as written in the text
// format (`dogpile_region_hits_total{region="users"}`).
func scrape(t *testing.T, reg *prometheus.Registry) map[string]string {
	t.Helper()
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s: %s", resp.Status, body)
	}
	series := map[string]string{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		series[line[:i]] = line[i+1:]
	}
	return series
}

// expectSeries fails t for every series of want that got lacks or has
// another value of.
func expectSeries(t *testing.T, got map[string]string, want map[string]string) {
	t.Helper()
	for name, v := range want {
		if g, ok := got[name]; !ok {
			t.Errorf("no series %s", name)
		} else if g != v {
			t.Errorf("%s = %s, want %s", name, g, v)
		}
	}
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// flakyStore is a memory store whose tag bumps fail while fail is set.
type flakyStore struct {
	*memory.Store
	fail atomic.Bool
}

var errStoreDown = errors.New("store down")

func (s *flakyStore) BumpTags(ctx context.Context, tags []string) error {
	if s.fail.Load() {
		return errStoreDown
	}
	return s.Store.BumpTags(ctx, tags)
}

func value(v string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return v, nil }
}
