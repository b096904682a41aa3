package serializer

import (
	"fmt"
	"slices"
	"sync"

	"github.com/dogpile-go/dogpile/backend"
)

// Default is the serializer bytes stores use unless told otherwise: [CBOR].
var Default backend.Serializer = CBOR

var registry = struct {
	mu     sync.RWMutex
	byName map[string]backend.Serializer // guarded by mu
}{byName: map[string]backend.Serializer{
	"cbor": CBOR,
	"json": JSON,
	"gob":  Gob,
}}

// Register makes s available to [Lookup] under name, for configuration
// files. It panics if the name is empty or taken, or s is nil.
func Register(name string, s backend.Serializer) {
	if name == "" || s == nil {
		panic("serializer: Register needs a name and a serializer")
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if _, dup := registry.byName[name]; dup {
		panic("serializer: Register called twice for " + name)
	}
	registry.byName[name] = s
}

// Lookup returns the serializer registered under name; "" and "default"
// give [Default].
func Lookup(name string) (backend.Serializer, error) {
	if name == "" || name == "default" {
		return Default, nil
	}
	registry.mu.RLock()
	s, ok := registry.byName[name]
	registry.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: unknown serializer %q (registered: %v)", backend.ErrBadArgument, name, names())
	}
	return s, nil
}

func names() []string {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	out := make([]string, 0, len(registry.byName))
	for n := range registry.byName {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
