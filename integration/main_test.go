// Package integration drives the whole stack — cachedsql, the stores,
// invalidation and migrations — against real PostgreSQL, Redis and
// memcached servers, which package harness provides (see README.md).
package integration_test

import (
	"os"
	"testing"

	"github.com/dogpile-go/dogpile/integration/harness"
)

func TestMain(m *testing.M) {
	// The cross-process test runs this binary again as its workers.
	if os.Getenv(envWorker) != "" {
		os.Exit(runWorker())
	}
	harness.Main(m)
}
