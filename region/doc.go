// Package region is the cache front end: dogpile.cache's CacheRegion in Go.
//
// A [Region] sits on a backend (package backend and its sub-packages) and
// gives get-or-create under the dogpile lock: however many goroutines, and
// processes when the backend has a creation lock, ask for a key that needs
// creating, one of them runs the creator; the others wait for its outcome
// when there is no value, or get the stale value at once when there is one.
//
//	var users = region.New("users")
//
//	func main() {
//		users.MustConfigure(region.Config{BackendName: "memory", Expiration: time.Minute})
//		u, err := region.GetOrCreate(ctx, users, "user:42", func(ctx context.Context) (User, error) {
//			return loadUser(ctx, 42)
//		})
//	}
//
// Values are typed: [GetOrCreate], [Get], [Set] and the multi-key forms are
// generic functions, and cached functions ([CacheOnArguments],
// [CacheMultiOnArguments]) wrap a Go function with its cache.
//
// What makes a value usable: it was written by this version of the region's
// format, it decodes, it was not hard-invalidated ([Region.Invalidate]),
// and, to be fresh rather than stale, it is younger than the expiration in
// force and was not soft-invalidated. Time comes from the region's clock
// ([WithClock]), so tests move time instead of sleeping.
//
// With an async runner ([WithRunner], [Pool]), stale values are refreshed
// in the background on a bounded goroutine pool.
//
// A backend failure does not fail calls by default: it is counted
// ([Region.Stats]), reported to the [Observer], and the region carries on
// as if the cache were empty, still one creator per key in the process.
// Config.FailOnBackendError makes it fail them instead.
package region
