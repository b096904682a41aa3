package file

import (
	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/serializer"
)

func init() {
	backend.Register("file", open)
}

// Arguments open takes, by dogpile's dbm names where dogpile has one.
var arguments = []string{
	"filename",              // Filename (required)
	"rw_lockfile",           // RWLockFile
	"lock_dir",              // LockDir
	"distributed_lock",      // !DisableLock (default true)
	"timeout",               // Timeout
	"lock_wait",             // LockWait
	"lock_wait_max",         // LockWaitMax
	"lock_blocking_timeout", // LockBlockingTimeout
	"purge_interval",        // PurgeInterval
	"no_sync",               // NoSync
	"serializer",            // Serializer, by name ("cbor", "json", "gob")
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
	if o.Filename, err = args.String("filename", ""); err != nil {
		return nil, err
	}
	if o.RWLockFile, err = args.String("rw_lockfile", ""); err != nil {
		return nil, err
	}
	if o.LockDir, err = args.String("lock_dir", ""); err != nil {
		return nil, err
	}
	lock, err := args.Bool("distributed_lock", true)
	if err != nil {
		return nil, err
	}
	o.DisableLock = !lock
	if o.Timeout, err = args.Duration("timeout", 0); err != nil {
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
	if o.PurgeInterval, err = args.Duration("purge_interval", 0); err != nil {
		return nil, err
	}
	if o.NoSync, err = args.Bool("no_sync", false); err != nil {
		return nil, err
	}
	name, err := args.String("serializer", "")
	if err != nil {
		return nil, err
	}
	if o.Serializer, err = serializer.Lookup(name); err != nil {
		return nil, err
	}
	return New(o)
}
