// Package backend defines the storage contract that a [region] sits on, the
// optional capabilities a store may offer, the proxy chain that wraps a store,
// and the registry that opens stores by name.
//
// A [Backend] gets, sets and deletes an [Entry]: a payload plus [Metadata]
// (creation time and format version). Stores come in two kinds:
//
//   - object stores keep the Go value itself in [Entry.Value] (the memory
//     backend): a hit costs no decoding;
//   - bytes stores implement [Serializing]: the region encodes the payload
//     into [Entry.Data] with its serializer (or the store's default) and the
//     store persists Data and Metadata, usually with [MarshalRecord].
//
// Everything beyond get/set/delete is an optional interface, found by type
// assertion, whose fallback is written on it: [MultiGetter], [MultiSetter],
// [MultiDeleter], [TTLSetter], [Locker], [Serializing], [KeyMangling] and
// [io.Closer]. Callers use the package functions ([GetMulti], [SetMulti],
// [DeleteMulti], [SetWithTTL], [MutexFor], [Close]) which apply the
// fallback, so a store implements only what it does better than the loop.
//
// Stores register themselves by name so that a region can be configured from
// a configuration map:
//
//	import _ "github.com/dogpile-go/dogpile/backend/memory"
//
//	b, err := backend.Open("memory", backend.Arguments{"max_entries": 10000})
//
// [ProxyBackend] is dogpile's ProxyBackend: embed it, override the methods a
// proxy changes, and every other call passes through to the store beneath.
//
// The conformance suite in package backendtest is run by every store's tests.
//
// [region]: https://pkg.go.dev/github.com/dogpile-go/dogpile/region
package backend
