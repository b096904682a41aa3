package backend

import (
	"fmt"
	"slices"
	"sync"
)

// Factory opens a backend from its arguments. It returns an error wrapping
// [ErrBadArgument] that names the argument when one is invalid.
type Factory func(args Arguments) (Backend, error)

var registry struct {
	mu        sync.RWMutex
	factories map[string]Factory // guarded by mu
}

// Register makes a backend available by name to [Open] and to regions
// configured from configuration maps. Stores register themselves in an init
// function; programs register their own under names of their choosing.
// Register panics if name is empty, f is nil, or name is already taken, as
// database/sql.Register does: those are programming errors.
func Register(name string, f Factory) {
	if name == "" || f == nil {
		panic("backend: Register needs a name and a factory")
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if registry.factories == nil {
		registry.factories = make(map[string]Factory)
	}
	if _, dup := registry.factories[name]; dup {
		panic("backend: Register called twice for " + name)
	}
	registry.factories[name] = f
}

// Open opens the backend registered under name with args.
func Open(name string, args Arguments) (Backend, error) {
	registry.mu.RLock()
	f := registry.factories[name]
	registry.mu.RUnlock()
	if f == nil {
		return nil, fmt.Errorf("%w %q (registered: %v); is its package imported?", ErrUnknownBackend, name, Names())
	}
	if args == nil {
		args = Arguments{}
	}
	b, err := f(args)
	if err != nil {
		return nil, fmt.Errorf("backend: opening %q: %w", name, err)
	}
	return b, nil
}

// Names returns the registered backend names, sorted.
func Names() []string {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	names := make([]string, 0, len(registry.factories))
	for n := range registry.factories {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
