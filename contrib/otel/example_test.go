package dogpileotel_test

import (
	"context"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/attribute"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	_ "github.com/dogpile-go/dogpile/backend/memory"
	dogpileotel "github.com/dogpile-go/dogpile/contrib/otel"
	"github.com/dogpile-go/dogpile/region"
)

func Example() {
	recorder := tracetest.NewSpanRecorder() // in a program: an exporter's span processor
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	defer tp.Shutdown(context.Background())

	users := region.New("users", region.WithObserver(dogpileotel.NewObserver(dogpileotel.Options{
		TracerProvider: tp,
		Keys:           dogpileotel.KeyRaw,
	})))
	users.MustConfigure(region.Config{BackendName: "memory"})

	ctx, span := tp.Tracer("app").Start(context.Background(), "GET /users/42")
	for range 2 {
		_, _ = region.GetOrCreate(ctx, users, "user:42", func(context.Context) (string, error) {
			return "Ada", nil
		})
	}
	span.End()

	spans := recorder.Ended() // in the order they ended
	names := map[trace.SpanID]string{}
	for _, s := range spans {
		names[s.SpanContext().SpanID()] = s.Name()
	}
	for _, s := range spans {
		fmt.Printf("%s (parent %q)%s\n", s.Name(), names[s.Parent().SpanID()], format(s.Attributes()))
		for _, e := range s.Events() {
			fmt.Printf("  event %s%s\n", e.Name, format(e.Attributes))
		}
	}
	// Output:
	// dogpile.create (parent "GET /users/42") dogpile.region=users dogpile.key=user:42
	// GET /users/42 (parent "")
	//   event dogpile.miss dogpile.region=users dogpile.key=user:42
	//   event dogpile.hit dogpile.region=users dogpile.key=user:42
}

func format(attrs []attribute.KeyValue) string {
	var b strings.Builder
	for _, kv := range attrs {
		fmt.Fprintf(&b, " %s=%s", kv.Key, kv.Value.String())
	}
	return b.String()
}

// A region has one observer; a region.ObserverFunc gives it two (here the
// tracing one and a counter of misses standing in for, say, the Prometheus
// collector's observer of contrib/prometheus).
func Example_withAnotherObserver() {
	traces := dogpileotel.NewObserver(dogpileotel.Options{}) // the global tracer provider
	misses := 0
	counter := region.ObserverFunc(func(_ context.Context, e region.Event) {
		if e.Kind == region.EventMiss {
			misses++
		}
	})

	users := region.New("users", region.WithObserver(region.ObserverFunc(func(ctx context.Context, e region.Event) {
		traces.Observe(ctx, e)
		counter.Observe(ctx, e)
	})))
	users.MustConfigure(region.Config{BackendName: "memory"})
	for _, key := range []string{"a", "b", "a"} {
		_, _ = region.GetOrCreate(context.Background(), users, key, func(context.Context) (int, error) { return 1, nil })
	}
	fmt.Println("misses:", misses)
	// Output:
	// misses: 2
}
