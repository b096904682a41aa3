package memcached

import (
	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/serializer"
)

func init() {
	backend.Register("memcached", open)
}

// Arguments open takes, by dogpile's names where dogpile has one.
var arguments = []string{
	"url",                   // Servers: a list, or host:port pairs separated by commas
	"key_prefix",            // KeyPrefix
	"key_mangling",          // !DisableKeyMangling (default true)
	"memcached_expire_time", // Expiration
	"socket_timeout",        // Timeout
	"max_idle_conns",        // MaxIdleConns
	"serializer",            // Serializer, by name ("cbor", "json", "gob")
	"distributed_lock",      // !DisableLock (default true)
	"lock_timeout",          // LockTimeout
	"lock_wait",             // LockWait
	"lock_wait_max",         // LockWaitMax
	"lock_blocking_timeout", // LockBlockingTimeout
}

// open reads a store's Options from configuration arguments.
func open(args backend.Arguments) (backend.Backend, error) {
	if err := args.Only(arguments...); err != nil {
		return nil, err
	}
	var (
		o   Options
		err error
	)
	if o.Servers, err = args.Strings("url", nil); err != nil {
		return nil, err
	}
	if o.KeyPrefix, err = args.String("key_prefix", ""); err != nil {
		return nil, err
	}
	mangle, err := args.Bool("key_mangling", true)
	if err != nil {
		return nil, err
	}
	o.DisableKeyMangling = !mangle
	if o.Expiration, err = args.Duration("memcached_expire_time", 0); err != nil {
		return nil, err
	}
	if o.Timeout, err = args.Duration("socket_timeout", 0); err != nil {
		return nil, err
	}
	if o.MaxIdleConns, err = args.Int("max_idle_conns", 0); err != nil {
		return nil, err
	}
	name, err := args.String("serializer", "")
	if err != nil {
		return nil, err
	}
	if o.Serializer, err = serializer.Lookup(name); err != nil {
		return nil, err
	}
	lock, err := args.Bool("distributed_lock", true)
	if err != nil {
		return nil, err
	}
	o.DisableLock = !lock
	if o.LockTimeout, err = args.Duration("lock_timeout", 0); err != nil {
		return nil, err
	}
	if o.LockWait, err = args.Duration("lock_wait", 0); err != nil {
		return nil, err
	}
	if o.LockWaitMax, err = args.Duration("lock_wait_max", 0); err != nil {
		return nil, err
	}
	if o.LockBlockingTimeout, err = args.Duration("lock_blocking_timeout", 0); err != nil {
		return nil, err
	}
	return New(o)
}
