package backend

import (
	"context"
	"time"
)

// Backend stores entries under string keys. Implementations are safe for
// concurrent use by multiple goroutines.
//
// Get reports a missing key as ok == false with a nil error; an error means
// the store could not answer (it is down, timed out, …). A stored record that
// cannot be decoded (another format version, corruption) is reported as
// missing, not as an error. Delete of a missing key is not an error.
type Backend interface {
	Get(ctx context.Context, key string) (e Entry, ok bool, err error)
	Set(ctx context.Context, key string, e Entry) error
	Delete(ctx context.Context, key string) error
}

// Entry is what a backend stores: a payload plus its metadata.
//
// Object stores keep Value as it is and never look inside it. Bytes stores
// (those that implement [Serializing]) are given the encoded payload in Data
// and must return Data and Meta as they were given.
type Entry struct {
	// Value is the payload itself, for object stores.
	Value any
	// Data is the encoded payload, for bytes stores.
	Data []byte
	// Meta is the entry's metadata.
	Meta Metadata
}

// IsZero reports whether e is the zero Entry, which [MultiGetter.GetMulti]
// uses for a key it does not hold. Every stored entry has a creation time.
func (e Entry) IsZero() bool {
	return e.Value == nil && e.Data == nil && e.Meta.Created.IsZero()
}

// Metadata is stored with every payload.
type Metadata struct {
	// Created is when the value was created, by the region's clock.
	Created time.Time
	// Version is the format version of the value as the region wrote it
	// (dogpile's "v"); a region treats an entry of another version as
	// missing, so an incompatible change of the stored form never reaches
	// a caller.
	Version uint16
	// Tags are the versions of the entry's tags when its value was read
	// (see [TagStore]); the entry is valid while they are current. Nil for
	// untagged entries. Stores keep the slice as given; nobody modifies it.
	Tags []TagVersion
}

// EntryReader is implemented by in-process stores that can hand out their
// stored entry itself rather than a copy, which saves a region's hit the
// copy of an Entry. The entry must never be modified by the caller (nor by
// the store once handed out: stores replace entries, they do not change
// them).
//
// Without it, a region calls Get.
type EntryReader interface {
	GetEntry(ctx context.Context, key string) (*Entry, bool)
}
