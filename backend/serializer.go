package backend

// Serializer turns payloads into bytes and back, for bytes stores.
//
// Unmarshal decodes into v, a non-nil pointer. A region treats any Unmarshal
// error as a cache miss (dogpile's CantDeserializeException), so values
// written by an older build of a program that no longer decode are simply
// created again.
type Serializer interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// Serializing is implemented by bytes stores. Serializer returns the
// serializer the store recommends, used unless the region names its own; a
// nil result means the store keeps objects after all (a proxy over an object
// store returns nil).
//
// Without it, a store is an object store: it is given and gives back
// [Entry.Value] as is, so a caller must not modify a value it got from the
// cache, as with any shared in-process cache.
type Serializing interface {
	Serializer() Serializer
}

// SerializerOf returns the serializer b recommends, or nil when b is an
// object store.
func SerializerOf(b Backend) Serializer {
	if s, ok := b.(Serializing); ok {
		return s.Serializer()
	}
	return nil
}
