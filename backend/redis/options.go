package redis

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/clock"
)

// Options configure a [Store]. Exactly one of Client, URL and Universal says
// where Redis is. The zero value of every other field means its default.
type Options struct {
	// Client is an existing client to use. The store does not close it.
	Client goredis.UniversalClient
	// URL is a redis:// or rediss:// URL of a single node, as go-redis's
	// ParseURL reads it ("redis://user:pass@host:6379/0").
	URL string
	// Universal are go-redis options: one address for a single node,
	// several for a Cluster, MasterName for Sentinel. ContextTimeoutEnabled
	// is forced on, so that a call's context bounds it.
	//
	// For a client the store makes (URL or Universal), timeouts and retries
	// left unset get values fit for a cache, which must fail fast rather
	// than make queries wait for a Redis that is away: 1 s to dial, read and
	// write, one retry, one dial retry 10 ms later.
	Universal *goredis.UniversalOptions

	// KeyPrefix is put before every key, to share a Redis between
	// applications. Default: none.
	KeyPrefix string
	// LockPrefix is put before a key (after KeyPrefix) to name its
	// creation lock. Default: "lock:". It must not begin with "~" or
	// "tag": entries whose keys begin with it, with "tag" or with "~" are
	// stored under "~" + key, so that no entry takes a lock's or a tag's
	// key.
	LockPrefix string

	// DisableLock turns the creation lock off: the region then holds the
	// stampede to one creator per key per process only. Default: the lock
	// is on.
	DisableLock bool
	// LockTimeout is how long a lock lives without renewal: how long a
	// crashed holder keeps others waiting. Default: 30s.
	LockTimeout time.Duration
	// LockRenewEvery is how often a holder extends its lock. Default:
	// LockTimeout/3.
	LockRenewEvery time.Duration
	// LockSleep is the first pause between tries of a waiting Lock; it
	// doubles, with jitter, up to LockSleepMax. Default: 5ms.
	LockSleep time.Duration
	// LockSleepMax caps the pause between tries. Default: 100ms.
	LockSleepMax time.Duration
	// LockBlockingTimeout bounds how long Lock waits before it gives up
	// with [backend.ErrLockTimeout]. Default: no bound but the context's.
	LockBlockingTimeout time.Duration

	// Expiration is the TTL given to entries written without one
	// (dogpile's redis_expiration_time). Default: none; entries stay until
	// evicted, deleted or overwritten.
	Expiration time.Duration

	// Serializer is the serializer the store recommends to regions.
	// Default: serializer.Default (CBOR).
	Serializer backend.Serializer

	// Clock times the leases of pending tag marks (the only use of the
	// client's time: versions come from the server). Default: the system
	// clock.
	Clock clock.Clock
}

const (
	defaultLockTimeout  = 30 * time.Second
	defaultLockPrefix   = "lock:"
	defaultLockSleep    = 5 * time.Millisecond
	defaultLockSleepMax = 100 * time.Millisecond
)

// client returns the client the options name, and whether the store owns it.
func (o *Options) client() (goredis.UniversalClient, bool, error) {
	set := 0
	for _, b := range []bool{o.Client != nil, o.URL != "", o.Universal != nil} {
		if b {
			set++
		}
	}
	if set != 1 {
		return nil, false, fmt.Errorf("%w: give exactly one of Client, URL and Universal (%d given)", backend.ErrBadArgument, set)
	}
	switch {
	case o.Client != nil:
		return o.Client, false, nil
	case o.URL != "":
		opts, err := goredis.ParseURL(o.URL)
		if err != nil {
			return nil, false, fmt.Errorf("%w: redis URL %q: %v", backend.ErrBadArgument, redact(o.URL), err)
		}
		opts.ContextTimeoutEnabled = true
		failFast(&opts.DialTimeout, &opts.ReadTimeout, &opts.WriteTimeout, &opts.MaxRetries, &opts.DialerRetries, &opts.DialerRetryTimeout)
		return goredis.NewClient(opts), true, nil
	default:
		u := *o.Universal
		if len(u.Addrs) == 0 {
			return nil, false, fmt.Errorf("%w: redis Universal options have no Addrs", backend.ErrBadArgument)
		}
		u.ContextTimeoutEnabled = true
		failFast(&u.DialTimeout, &u.ReadTimeout, &u.WriteTimeout, &u.MaxRetries, &u.DialerRetries, &u.DialerRetryTimeout)
		return goredis.NewUniversalClient(&u), true, nil
	}
}

// failFast sets, where the caller left them unset, go-redis options fit for
// a cache: a Redis that is away must cost a query little, because the
// region then answers from the database. go-redis's own defaults (3
// retries, 5 dial attempts 100 ms apart, 3 s reads) can make each query wait
// seconds while Redis is down.
func failFast(dial, read, write *time.Duration, retries, dialRetries *int, dialPause *time.Duration) {
	if *dial == 0 {
		*dial = time.Second
	}
	if *read == 0 {
		*read = time.Second
	}
	if *write == 0 {
		*write = time.Second
	}
	if *retries == 0 {
		*retries = 1
	}
	if *dialRetries == 0 {
		*dialRetries = 1
	}
	if *dialPause == 0 {
		*dialPause = 10 * time.Millisecond
	}
}

func (o *Options) validate() error {
	for name, d := range map[string]time.Duration{
		"LockTimeout": o.LockTimeout, "LockRenewEvery": o.LockRenewEvery, "LockSleep": o.LockSleep,
		"LockSleepMax": o.LockSleepMax, "LockBlockingTimeout": o.LockBlockingTimeout, "Expiration": o.Expiration,
	} {
		if d < 0 {
			return fmt.Errorf("%w: redis %s is negative (%v)", backend.ErrBadArgument, name, d)
		}
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = defaultLockTimeout
	}
	if o.LockTimeout < time.Millisecond {
		return fmt.Errorf("%w: redis LockTimeout %v is under Redis's millisecond resolution", backend.ErrBadArgument, o.LockTimeout)
	}
	if o.LockRenewEvery == 0 {
		o.LockRenewEvery = o.LockTimeout / 3
	}
	if o.LockRenewEvery >= o.LockTimeout {
		return fmt.Errorf("%w: redis LockRenewEvery %v must be shorter than LockTimeout %v", backend.ErrBadArgument, o.LockRenewEvery, o.LockTimeout)
	}
	if o.LockSleep == 0 {
		o.LockSleep = defaultLockSleep
	}
	if o.LockSleepMax == 0 {
		o.LockSleepMax = defaultLockSleepMax
	}
	if o.LockSleepMax < o.LockSleep {
		o.LockSleepMax = o.LockSleep
	}
	if o.LockPrefix == "" {
		o.LockPrefix = defaultLockPrefix
	}
	if strings.HasPrefix(o.LockPrefix, "~") || strings.HasPrefix(o.LockPrefix, "tag") {
		// Entry keys that clash are escaped with "~" (see Store.key), and
		// tag keys begin with "tag": a lock key must be neither.
		return fmt.Errorf("%w: redis LockPrefix %q begins with \"~\" or \"tag\", which name escaped entries and tags", backend.ErrBadArgument, o.LockPrefix)
	}
	if o.Clock == nil {
		o.Clock = clock.System
	}
	return nil
}

// redact hides a URL's password in messages.
func redact(u string) string {
	if parsed, err := url.Parse(u); err == nil {
		return parsed.Redacted()
	}
	return "(unparsable URL)"
}
