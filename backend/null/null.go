// Package null is a store that keeps nothing (dogpile's null backend): every
// get misses and every write is dropped, so a region over it calls the
// creator every time, still one creator per key at a time. Use it to turn
// caching off by configuration, and in tests.
//
// It is registered as "null" and takes no arguments.
package null

import (
	"context"

	"github.com/dogpile-go/dogpile/backend"
)

// Store keeps nothing. The zero value is ready to use and safe for
// concurrent use.
type Store struct{}

// New returns a store that keeps nothing.
func New() *Store { return &Store{} }

// Get always misses.
func (*Store) Get(context.Context, string) (backend.Entry, bool, error) {
	return backend.Entry{}, false, nil
}

// Set drops e.
func (*Store) Set(context.Context, string, backend.Entry) error { return nil }

// Delete does nothing.
func (*Store) Delete(context.Context, string) error { return nil }

func init() {
	backend.Register("null", func(args backend.Arguments) (backend.Backend, error) {
		if err := args.Only(); err != nil {
			return nil, err
		}
		return New(), nil
	})
}

var _ backend.Backend = (*Store)(nil)
