package dogpileprom_test

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	_ "github.com/dogpile-go/dogpile/backend/memory"
	dogpileprom "github.com/dogpile-go/dogpile/contrib/prometheus"
	"github.com/dogpile-go/dogpile/region"
)

func Example() {
	collector := dogpileprom.NewCollector(dogpileprom.Options{})
	registry := prometheus.NewRegistry() // or prometheus.MustRegister(collector)
	registry.MustRegister(collector)

	users := region.New("users", region.WithObserver(collector.Observer()))
	users.MustConfigure(region.Config{BackendName: "memory", Expiration: time.Minute})
	if err := collector.AddRegion(users); err != nil {
		panic(err)
	}

	ctx := context.Background()
	for range 3 {
		_, _ = region.GetOrCreate(ctx, users, "user:42", func(context.Context) (string, error) {
			return "Ada", nil
		})
	}

	families, _ := registry.Gather()
	for _, f := range families {
		switch m := f.GetMetric()[0]; f.GetName() {
		case "dogpile_region_hits_total", "dogpile_region_misses_total", "dogpile_region_creations_total":
			fmt.Println(f.GetName(), m.GetLabel()[0].GetValue(), m.GetCounter().GetValue())
		case "dogpile_region_creation_duration_seconds":
			fmt.Println(f.GetName()+"_count", m.GetLabel()[0].GetValue(), m.GetHistogram().GetSampleCount())
		}
	}
	// Output:
	// dogpile_region_creation_duration_seconds_count users 1
	// dogpile_region_creations_total users 1
	// dogpile_region_hits_total users 2
	// dogpile_region_misses_total users 1
}

func ExampleCollector_AddPool() {
	pool, _ := region.NewPool(region.PoolOptions{Workers: 2})
	defer pool.Close(context.Background())
	reports := region.New("reports", region.WithRunner(pool))
	reports.MustConfigure(region.Config{BackendName: "memory"})

	collector := dogpileprom.NewCollector(dogpileprom.Options{Namespace: "shop"})
	if err := collector.AddRegion(reports); err != nil {
		panic(err)
	}
	if err := collector.AddPool("reports", pool); err != nil {
		panic(err)
	}
	registry := prometheus.NewRegistry()
	registry.MustRegister(collector)

	families, _ := registry.Gather()
	for _, f := range families {
		if m := f.GetMetric()[0]; m.GetLabel()[0].GetName() == "pool" {
			fmt.Println(f.GetName(), f.GetType())
		}
	}
	// Output:
	// shop_pool_tasks_done_total COUNTER
	// shop_pool_tasks_dropped_total COUNTER
	// shop_pool_tasks_failed_total COUNTER
	// shop_pool_tasks_queued GAUGE
	// shop_pool_tasks_running GAUGE
}
