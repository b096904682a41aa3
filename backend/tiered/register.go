package tiered

import (
	"fmt"
	"maps"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/redis"
)

func init() {
	backend.Register("redis_tiered", open)
}

// ownArgs are the arguments of the tiered store itself; every other one is
// the far store's, as the "redis" backend takes them.
var ownArgs = []string{
	"near_max_bytes", "near_max_entries", "near_ttl", "coherence", "max_tag_age", "ping_every", "channel",
}

// open reads a store's Options from configuration arguments and opens the
// far store as "redis" with the rest.
func open(args backend.Arguments) (backend.Backend, error) {
	farArgs := maps.Clone(args)
	for _, name := range ownArgs {
		delete(farArgs, name)
	}
	var o Options
	var err error
	maxBytes, err := args.Int("near_max_bytes", 0)
	if err != nil {
		return nil, err
	}
	o.MaxBytes = int64(maxBytes)
	if o.MaxEntries, err = args.Int("near_max_entries", 0); err != nil {
		return nil, err
	}
	if o.NearTTL, err = args.Duration("near_ttl", 0); err != nil {
		return nil, err
	}
	if o.MaxTagAge, err = args.Duration("max_tag_age", 0); err != nil {
		return nil, err
	}
	if o.PingEvery, err = args.Duration("ping_every", 0); err != nil {
		return nil, err
	}
	coherence, err := args.String("coherence", "")
	if err != nil {
		return nil, err
	}
	if o.Coherence, err = ParseCoherence(coherence); err != nil {
		return nil, err
	}
	prefix, err := args.String("key_prefix", "")
	if err != nil {
		return nil, err
	}
	if o.Channel, err = args.String("channel", prefix+defaultChannel); err != nil {
		return nil, err
	}
	b, err := backend.Open("redis", farArgs)
	if err != nil {
		return nil, err
	}
	far, ok := b.(*redis.Store)
	if !ok {
		_ = backend.Close(b)
		return nil, fmt.Errorf("tiered: the \"redis\" backend opened a %T, not a *redis.Store", b)
	}
	o.Far = far
	if err := o.validate(); err != nil {
		_ = far.Close()
		return nil, err
	}
	return newStore(far, true, o)
}
