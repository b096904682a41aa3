// Package backendtest is the conformance suite that every store's tests run,
// so that a region behaves the same on each of them:
//
//	func TestConformance(t *testing.T) {
//		backendtest.Run(t, backendtest.Harness{
//			New: func(t *testing.T) backend.Backend { return newEmptyStore(t) },
//		})
//	}
//
// It checks the required methods, every optional capability the store
// claims (multi-key operations, TTLs, the creation lock, serialization), and
// concurrent use under the race detector.
package backendtest
