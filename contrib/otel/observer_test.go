package dogpileotel_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/dogpile-go/dogpile/backend"
	_ "github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/clock"
	dogpileotel "github.com/dogpile-go/dogpile/contrib/otel"
	"github.com/dogpile-go/dogpile/region"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// traced is a region observed by a dogpileotel.Observer whose spans go to
// a recorder.
type traced struct {
	r      *region.Region
	clk    *clock.Manual
	rec    *tracetest.SpanRecorder
	tracer trace.Tracer
}

func newTraced(t *testing.T, o dogpileotel.Options, cfg region.Config, opts ...region.Option) *traced {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	o.TracerProvider = tp
	clk := clock.NewManual(t0)
	r := region.New("users", append([]region.Option{
		region.WithClock(clk), region.WithObserver(dogpileotel.NewObserver(o)),
	}, opts...)...)
	cfg.BackendName = "memory"
	if err := r.Configure(cfg); err != nil {
		t.Fatal(err)
	}
	return &traced{r: r, clk: clk, rec: rec, tracer: tp.Tracer("test")}
}

// ended returns the ended spans named name.
func (tr *traced) ended(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range tr.rec.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

func eventNames(s sdktrace.ReadOnlySpan) []string {
	var names []string
	for _, e := range s.Events() {
		names = append(names, e.Name)
	}
	return names
}

func attrMap(kvs []attribute.KeyValue) map[attribute.Key]string {
	m := map[attribute.Key]string{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value.String()
	}
	return m
}

func value(v string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return v, nil }
}

func sha16(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

func TestMissCreateHit(t *testing.T) {
	for _, tc := range []struct {
		name      string
		keys      dogpileotel.KeyMode
		wantAttrs map[attribute.Key]string // besides the region
	}{
		{"hashed by default", dogpileotel.KeyHashed, map[attribute.Key]string{dogpileotel.CacheKeyHashKey: sha16("user:42")}},
		{"raw", dogpileotel.KeyRaw, map[attribute.Key]string{dogpileotel.CacheKeyKey: "user:42"}},
		{"omitted", dogpileotel.KeyOmitted, map[attribute.Key]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTraced(t, dogpileotel.Options{Keys: tc.keys}, region.Config{})
			ctx, parent := tr.tracer.Start(context.Background(), "handler")
			for range 2 {
				if v, err := region.GetOrCreate(ctx, tr.r, "user:42", value("Ada")); v != "Ada" || err != nil {
					t.Fatalf("GetOrCreate = %q, %v", v, err)
				}
			}
			parent.End()

			want := map[attribute.Key]string{dogpileotel.RegionKey: "users"}
			for k, v := range tc.wantAttrs {
				want[k] = v
			}
			handler := tr.ended("handler")[0]
			if got := eventNames(handler); !slices.Equal(got, []string{"dogpile.miss", "dogpile.hit"}) {
				t.Fatalf("events on the caller's span = %v, want miss then hit", got)
			}
			for _, e := range handler.Events() {
				if got := attrMap(e.Attributes); !maps.Equal(got, want) {
					t.Errorf("%s attributes = %v, want %v", e.Name, got, want)
				}
			}
			creates := tr.ended(dogpileotel.CreateSpanName)
			if len(creates) != 1 {
				t.Fatalf("%d creation spans, want 1", len(creates))
			}
			c := creates[0]
			if c.Parent().SpanID() != handler.SpanContext().SpanID() || c.SpanContext().TraceID() != handler.SpanContext().TraceID() {
				t.Error("the creation span is not a child of the caller's span")
			}
			if got := attrMap(c.Attributes()); !maps.Equal(got, want) {
				t.Errorf("creation span attributes = %v, want %v", got, want)
			}
			if c.SpanKind() != trace.SpanKindInternal || c.Status().Code != codes.Unset {
				t.Errorf("creation span kind %v, status %v", c.SpanKind(), c.Status())
			}
		})
	}
}

func TestCreationSpanTimes(t *testing.T) {
	tr := newTraced(t, dogpileotel.Options{}, region.Config{})
	ctx, parent := tr.tracer.Start(context.Background(), "handler")
	before := time.Now()
	var called time.Time
	_, err := region.GetOrCreate(ctx, tr.r, "slow", func(context.Context) (string, error) {
		called = time.Now()
		time.Sleep(5 * time.Millisecond)
		return "v", nil
	})
	after := time.Now()
	parent.End()
	if err != nil {
		t.Fatal(err)
	}
	c := tr.ended(dogpileotel.CreateSpanName)[0]
	if d := c.EndTime().Sub(c.StartTime()); d < 5*time.Millisecond {
		t.Errorf("creation span lasted %v, want the creator's 5ms or more", d)
	}
	// The span ends when the region reports the creation, a moment after
	// the creator returned, and starts its duration before: it may be that
	// moment late.
	const slack = time.Millisecond
	if c.StartTime().Before(before) || c.StartTime().After(called.Add(slack)) || c.EndTime().After(after) {
		t.Errorf("creation span [%v, %v] is not within the call [%v, %v] starting by the creator's call at %v",
			c.StartTime(), c.EndTime(), before, after, called)
	}
}

var errBroken = errors.New("broken creator")

func TestCreateErrorSpan(t *testing.T) {
	tr := newTraced(t, dogpileotel.Options{}, region.Config{})
	ctx, parent := tr.tracer.Start(context.Background(), "handler")
	_, err := region.GetOrCreate(ctx, tr.r, "k", func(context.Context) (string, error) { return "", errBroken })
	parent.End()
	if !errors.Is(err, errBroken) {
		t.Fatalf("GetOrCreate = %v", err)
	}
	c := tr.ended(dogpileotel.CreateSpanName)[0]
	if c.Status().Code != codes.Error || c.Status().Description != errBroken.Error() {
		t.Errorf("status = %+v, want Error %q", c.Status(), errBroken)
	}
	if got := eventNames(c); !slices.Equal(got, []string{"exception"}) {
		t.Fatalf("events = %v, want the recorded error", got)
	}
	if msg := attrMap(c.Events()[0].Attributes)["exception.message"]; msg != errBroken.Error() {
		t.Errorf("exception.message = %q", msg)
	}
}

func TestLockWaitSpans(t *testing.T) {
	tr := newTraced(t, dogpileotel.Options{}, region.Config{})
	started, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		ctx, span := tr.tracer.Start(context.Background(), "leader")
		defer span.End()
		_, _ = region.GetOrCreate(ctx, tr.r, "k", func(context.Context) (string, error) {
			close(started)
			<-release
			return "v", nil
		})
	})
	<-started
	const waiters = 2
	for range waiters {
		wg.Go(func() {
			ctx, span := tr.tracer.Start(context.Background(), "waiter")
			defer span.End()
			if v, err := region.GetOrCreate(ctx, tr.r, "k", value("unused")); v != "v" || err != nil {
				t.Errorf("waiter got %q, %v", v, err)
			}
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for tr.r.Stats().LockWaits < waiters && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(3 * time.Millisecond)
	close(release)
	wg.Wait()

	parents := map[trace.SpanID]bool{}
	for _, w := range tr.ended("waiter") {
		parents[w.SpanContext().SpanID()] = true
		if got := eventNames(w); !slices.Equal(got, []string{"dogpile.miss"}) {
			t.Errorf("waiter events = %v, want its miss", got)
		}
	}
	waits := tr.ended(dogpileotel.LockWaitSpanName)
	if len(waits) != waiters {
		t.Fatalf("%d lock-wait spans, want %d", len(waits), waiters)
	}
	for _, w := range waits {
		if !parents[w.Parent().SpanID()] {
			t.Error("a lock-wait span is not a child of a waiter's span")
		}
		if d := w.EndTime().Sub(w.StartTime()); d < 3*time.Millisecond {
			t.Errorf("lock-wait span lasted %v, want 3ms or more", d)
		}
		if got := attrMap(w.Attributes())[dogpileotel.RemoteKey]; got != "false" {
			t.Errorf("lock-wait span %s = %q, want false (a wait in this process)", dogpileotel.RemoteKey, got)
		}
	}
	if n := len(tr.ended(dogpileotel.CreateSpanName)); n != 1 {
		t.Errorf("%d creation spans, want 1", n)
	}
}

// failingGets is a proxy whose reads fail.
type failingGets struct{ backend.ProxyBackend }

var errDown = errors.New("store down")

func (*failingGets) Get(context.Context, string) (backend.Entry, bool, error) {
	return backend.Entry{}, false, errDown
}

func TestSpanEvents(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   region.Config
		opts  func(t *testing.T) []region.Option
		drive func(ctx context.Context, tr *traced) error
		want  []string
		// wantAttrs are the attributes of events, by name.
		wantAttrs map[string]map[attribute.Key]string
	}{
		{
			name: "hard invalidation",
			drive: func(ctx context.Context, tr *traced) error {
				return tr.r.Invalidate(ctx, true)
			},
			want: []string{"dogpile.invalidated"},
			wantAttrs: map[string]map[attribute.Key]string{
				"dogpile.invalidated": {dogpileotel.RegionKey: "users", dogpileotel.HardKey: "true"},
			},
		},
		{
			name: "backend error",
			cfg:  region.Config{Wrap: []backend.Proxy{&failingGets{}}},
			drive: func(ctx context.Context, tr *traced) error {
				_, _, err := region.Get[string](ctx, tr.r, "k")
				return err
			},
			want: []string{"dogpile.backend_error", "dogpile.miss"},
			wantAttrs: map[string]map[attribute.Key]string{
				"dogpile.backend_error": {dogpileotel.RegionKey: "users", dogpileotel.CacheKeyHashKey: sha16("k"), dogpileotel.ErrorMessageKey: errDown.Error()},
			},
		},
		{
			name: "stale value refreshed in the background",
			opts: func(t *testing.T) []region.Option {
				pool, err := region.NewPool(region.PoolOptions{Workers: 1})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = pool.Close(context.Background()) })
				return []region.Option{region.WithRunner(pool)}
			},
			drive: func(ctx context.Context, tr *traced) error {
				if err := region.Set(context.Background(), tr.r, "k", "old"); err != nil {
					return err
				}
				tr.clk.Advance(time.Second)
				if err := tr.r.Invalidate(context.Background(), false); err != nil {
					return err
				}
				_, err := region.GetOrCreate(ctx, tr.r, "k", value("new"))
				return err
			},
			want: []string{"dogpile.stale_served"},
			wantAttrs: map[string]map[attribute.Key]string{
				"dogpile.stale_served": {dogpileotel.RegionKey: "users", dogpileotel.CacheKeyHashKey: sha16("k")},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []region.Option
			if tc.opts != nil {
				opts = tc.opts(t)
			}
			tr := newTraced(t, dogpileotel.Options{}, tc.cfg, opts...)
			ctx, parent := tr.tracer.Start(context.Background(), "handler")
			if err := tc.drive(ctx, tr); err != nil {
				t.Fatal(err)
			}
			parent.End()
			h := tr.ended("handler")[0]
			got := eventNames(h)
			// The async runner's queueing may come before or after the
			// stale value is served; it is on the span all the same.
			got = slices.DeleteFunc(got, func(n string) bool { return n == "dogpile.async_queued" })
			if !slices.Equal(got, tc.want) {
				t.Fatalf("events = %v, want %v", eventNames(h), tc.want)
			}
			for _, e := range h.Events() {
				if want, ok := tc.wantAttrs[e.Name]; ok {
					if got := attrMap(e.Attributes); !maps.Equal(got, want) {
						t.Errorf("%s attributes = %v, want %v", e.Name, got, want)
					}
				}
			}
		})
	}
}

func TestWithoutCallerSpan(t *testing.T) {
	tr := newTraced(t, dogpileotel.Options{}, region.Config{})
	ctx := context.Background()
	for range 2 { // a miss and a creation, then a hit
		if _, err := region.GetOrCreate(ctx, tr.r, "k", value("v")); err != nil {
			t.Fatal(err)
		}
	}
	spans := tr.rec.Ended()
	if len(spans) != 1 || spans[0].Name() != dogpileotel.CreateSpanName {
		t.Fatalf("spans = %d, want the creation's alone", len(spans))
	}
	if spans[0].Parent().IsValid() {
		t.Error("the creation span of a call outside a trace has a parent")
	}
}

func TestFilter(t *testing.T) {
	var mu sync.Mutex
	var seen []region.EventKind
	tr := newTraced(t, dogpileotel.Options{
		// Report nothing outside a trace, and no hits.
		Filter: func(ctx context.Context, e region.Event) bool {
			mu.Lock()
			seen = append(seen, e.Kind)
			mu.Unlock()
			return trace.SpanContextFromContext(ctx).IsValid() && e.Kind != region.EventHit
		},
	}, region.Config{})
	if _, err := region.GetOrCreate(context.Background(), tr.r, "untraced", value("v")); err != nil {
		t.Fatal(err)
	}
	ctx, parent := tr.tracer.Start(context.Background(), "handler")
	for range 2 {
		if _, err := region.GetOrCreate(ctx, tr.r, "traced", value("v")); err != nil {
			t.Fatal(err)
		}
	}
	parent.End()

	if got := eventNames(tr.ended("handler")[0]); !slices.Equal(got, []string{"dogpile.miss"}) {
		t.Errorf("events = %v, want the miss alone", got)
	}
	if n := len(tr.ended(dogpileotel.CreateSpanName)); n != 1 {
		t.Errorf("%d creation spans, want the traced call's alone", n)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []region.EventKind{region.EventMiss, region.EventCreated, region.EventMiss, region.EventCreated, region.EventHit}
	if !slices.Equal(seen, want) {
		t.Errorf("filter saw %v, want %v", seen, want)
	}
}

func TestKeyModeString(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    dogpileotel.KeyMode
		want string
	}{
		{"hashed", dogpileotel.KeyHashed, "hashed"},
		{"raw", dogpileotel.KeyRaw, "raw"},
		{"omitted", dogpileotel.KeyOmitted, "omitted"},
		{"unknown", dogpileotel.KeyMode(12), "KeyMode(12)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.m.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestConcurrentUse makes spans and events from many goroutines at once,
// for the race detector.
func TestConcurrentUse(t *testing.T) {
	tr := newTraced(t, dogpileotel.Options{Keys: dogpileotel.KeyRaw}, region.Config{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			ctx, span := tr.tracer.Start(context.Background(), "worker")
			defer span.End()
			for j := range 50 {
				key := string(rune('a' + (i+j)%4))
				if _, err := region.GetOrCreate(ctx, tr.r, key, value("v")); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	events := 0
	for _, s := range tr.ended("worker") {
		events += len(s.Events())
	}
	// Every lookup is a hit or a miss; at most 4 (one per key) create,
	// and the others that missed waited for them.
	if s := tr.r.Stats(); s.Hits+s.Misses != 400 || int64(events) != s.Hits+s.Misses {
		t.Errorf("%d events for %d hits and %d misses", events, s.Hits, s.Misses)
	}
	if n := len(tr.ended(dogpileotel.CreateSpanName)); n != 4 {
		t.Errorf("%d creation spans, want 4", n)
	}
}
