package memory

import (
	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/serializer"
)

func init() {
	backend.Register("memory", func(args backend.Arguments) (backend.Backend, error) {
		return open(args, false)
	})
	backend.Register("memory_serialized", func(args backend.Arguments) (backend.Backend, error) {
		return open(args, true)
	})
}

// open reads a store's Options from configuration arguments.
func open(args backend.Arguments, serialized bool) (backend.Backend, error) {
	allowed := []string{"max_entries", "max_bytes", "ttl"}
	if serialized {
		allowed = append(allowed, "serializer")
	}
	if err := args.Only(allowed...); err != nil {
		return nil, err
	}
	var o Options
	var err error
	o.Serialized = serialized
	if o.MaxEntries, err = args.Int("max_entries", 0); err != nil {
		return nil, err
	}
	maxBytes, err := args.Int("max_bytes", 0)
	if err != nil {
		return nil, err
	}
	o.MaxBytes = int64(maxBytes)
	if o.EnableTTL, err = args.Bool("ttl", false); err != nil {
		return nil, err
	}
	if serialized {
		name, err := args.String("serializer", "")
		if err != nil {
			return nil, err
		}
		if o.Serializer, err = serializer.Lookup(name); err != nil {
			return nil, err
		}
	}
	return New(o)
}
