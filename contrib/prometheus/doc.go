// Package dogpileprom exports the metrics of dogpile regions to
// Prometheus: a prometheus.Collector of regions' counters, of async
// creation pools, of tag protocols, and of creation and lock-wait latency.
// It is a module of its own, so that the core never depends on Prometheus.
//
//	import dogpileprom "github.com/dogpile-go/dogpile/contrib/prometheus"
//
//	collector := dogpileprom.NewCollector(dogpileprom.Options{})
//	prometheus.MustRegister(collector)
//
//	pool, _ := region.NewPool(region.PoolOptions{})
//	users := region.New("users",
//		region.WithRunner(pool),
//		region.WithObserver(collector.Observer()), // for the latency histograms
//	)
//	if err := collector.AddRegion(users); err != nil { … }
//	if err := collector.AddPool("users", pool); err != nil { … }
//
//	db, _ := cachedsql.Open("pgx", dsn, cachedsql.WithObserver(collector.Observer()))
//	if err := collector.AddDB(db); err != nil { … } // its region, pool and tag protocol
//
// A DB's own region reports to the observer given with
// cachedsql.WithObserver; without it the DB gets the counters and gauges
// but not the histograms. A DB opened on a region of the program's own
// (cachedsql.WithRegion) ignores WithObserver: give that region the
// observer where it is made.
//
// # Metrics
//
// Counters and gauges are read from their sources when Prometheus scrapes
// ([region.Region.Stats], [region.Pool.Stats], [invalidation.Tags.Held]
// and [invalidation.Tags.Owed]): they cost the cache nothing between
// scrapes, and they are there even for a region without the observer.
// Histograms need every latency, so they are fed by the region observer
// [Collector.Observer]. With the default namespace:
//
//	dogpile_region_hits_total{region}               counter
//	dogpile_region_misses_total{region}             counter
//	dogpile_region_stale_served_total{region}       counter
//	dogpile_region_creations_total{region}          counter
//	dogpile_region_creation_errors_total{region}    counter
//	dogpile_region_creation_duration_seconds{region,result="ok"|"error"}  histogram (observer)
//	dogpile_region_lock_waits_total{region}         counter
//	dogpile_region_remote_lock_waits_total{region}  counter (those on the backend's lock)
//	dogpile_region_lock_wait_duration_seconds{region}  histogram (observer)
//	dogpile_region_backend_errors_total{region}     counter
//	dogpile_region_decode_errors_total{region}      counter
//	dogpile_region_invalidations_total{region}      counter
//	dogpile_region_async_queued_total{region}       counter
//	dogpile_region_async_rejected_total{region}     counter
//	dogpile_pool_tasks_queued{pool}                 gauge
//	dogpile_pool_tasks_running{pool}                gauge
//	dogpile_pool_tasks_done_total{pool}             counter
//	dogpile_pool_tasks_failed_total{pool}           counter
//	dogpile_pool_tasks_dropped_total{pool}          counter
//	dogpile_invalidation_tags_held{tags}            gauge
//	dogpile_invalidation_operations_owed{tags}      gauge
//
// The lock-wait histogram counts the waits that ended with the creation
// they waited for; dogpile_region_lock_waits_total also counts those cut
// short (the caller's context ended, or the creation went to the async
// runner and the caller was served the stale value), so it can be the
// larger.
//
// # With tracing
//
// A region has one observer. To give it this package's and another's (the
// OpenTelemetry observer of contrib/otel, say), compose them:
//
//	prom, traces := collector.Observer(), dogpileotel.NewObserver(dogpileotel.Options{})
//	region.WithObserver(region.ObserverFunc(func(ctx context.Context, e region.Event) {
//		prom.Observe(ctx, e)
//		traces.Observe(ctx, e)
//	}))
//
// [Options.Exemplar] can then attach the trace ID of each creation to its
// latency, linking a slow bucket to a trace.
package dogpileprom
