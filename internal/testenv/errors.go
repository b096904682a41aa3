package testenv

import "errors"

var (
	// ErrMissingDependency reports that a server binary, or the postgres OS
	// user PostgreSQL needs when the tests run as root, is not on this
	// machine. scripts/test-deps.sh installs them. A test that meets it is
	// skipped, or fails when the CI environment variable is set.
	ErrMissingDependency = errors.New("testenv: missing dependency")

	// ErrStartFailed reports that a server exited during start-up or was
	// not ready within [StartTimeout]; the error carries the end of its log.
	ErrStartFailed = errors.New("testenv: server did not start")

	// ErrNoProcessControl reports a fault-injection call (Stop, Kill, …) on
	// a server this package does not own: an external one named by an
	// environment variable, or a shared one other tests rely on.
	ErrNoProcessControl = errors.New("testenv: no control over this server's process")
)
