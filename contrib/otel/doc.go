// Package dogpileotel traces dogpile regions with OpenTelemetry: a
// [region.Observer] that records cache hits, misses and stale values as
// events on the caller's span, and creations and lock waits as child spans
// of it. It is a module of its own, so that the core never depends on
// OpenTelemetry.
//
//	import dogpileotel "github.com/dogpile-go/dogpile/contrib/otel"
//
//	users := region.New("users", region.WithObserver(dogpileotel.NewObserver(dogpileotel.Options{
//		TracerProvider: tp,                  // default: otel.GetTracerProvider()
//		Keys:           dogpileotel.KeyRaw,  // default: KeyHashed
//	})))
//
//	ctx, span := tracer.Start(ctx, "GET /users/42")
//	u, err := region.GetOrCreate(ctx, users, "user:42", loadUser)
//	span.End()
//
// gives, on a miss:
//
//	GET /users/42                      events: dogpile.miss {dogpile.region=users, dogpile.key=user:42}
//	└── dogpile.create                 {dogpile.region=users, dogpile.key=user:42}, as long as loadUser took
//
// and on a hit, the one event dogpile.hit. A caller that waited for another
// caller's creation gets a dogpile.lock_wait span instead of dogpile.create.
// Failures the region recovers from (dogpile.backend_error,
// dogpile.decode_error) are events with the error's message; a creator's
// error marks its dogpile.create span as failed. See [Observer] for the
// whole shape and its limits.
//
// # Keys
//
// Keys can carry data, so by default spans carry a digest of each key
// (dogpile.key_hash), not the key; [Options.Keys] chooses the key itself
// or nothing.
//
// # With metrics
//
// A region has one observer. To give it this package's and another's (the
// Prometheus collector's of contrib/prometheus, say), compose them:
//
//	traces, prom := dogpileotel.NewObserver(dogpileotel.Options{}), collector.Observer()
//	region.WithObserver(region.ObserverFunc(func(ctx context.Context, e region.Event) {
//		traces.Observe(ctx, e)
//		prom.Observe(ctx, e)
//	}))
package dogpileotel
