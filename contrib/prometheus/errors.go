package dogpileprom

import "errors"

var (
	// ErrDuplicate is returned, wrapped with the name concerned, when a
	// region, pool or tag protocol is added under a name that another one
	// of its kind already has (the two would give the same series, and
	// Prometheus would refuse the scrape), or when a pool or tag protocol
	// is added a second time under another name (its counts would be
	// summed twice).
	ErrDuplicate = errors.New("dogpileprom: duplicate source")

	// ErrBadSource is returned, wrapped, when a nil region, pool, tag
	// protocol or database is added.
	ErrBadSource = errors.New("dogpileprom: invalid source")

	// ErrBadOptions wraps what is wrong with [Options]. The collector
	// reports it when it is registered (prometheus.Register returns it,
	// prometheus.MustRegister panics with it), as Prometheus does for any
	// collector built wrong.
	ErrBadOptions = errors.New("dogpileprom: invalid options")
)
