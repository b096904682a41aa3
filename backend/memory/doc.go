// Package memory is the in-process store, built on otter (a concurrent
// cache with S3-FIFO eviction): unbounded by default, as dogpile's memory
// backend is, or bounded by a number of entries or of bytes.
//
// It comes in two forms, registered by name:
//
//   - "memory" keeps the Go values themselves: a hit costs a map lookup and
//     no copy, so callers must treat values they get as read-only;
//   - "memory_serialized" keeps encoded bytes, so every caller decodes its
//     own copy and no caller can change what another one gets.
//
// Arguments (for [backend.Open] and configuration maps): max_entries,
// max_bytes, ttl (true to honour per-entry TTLs given with writes; it costs
// a clock read per hit), serializer (memory_serialized only: "json", "gob",
// …).
//
//	b, err := memory.New(memory.Options{MaxEntries: 100_000})
package memory
