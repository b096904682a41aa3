package bench

import (
	"testing"

	"github.com/dogpile-go/dogpile/internal/testenv"
)

// The benchmarks that need servers start them through testenv, from the
// binaries scripts/test-deps.sh installs.
func TestMain(m *testing.M) { testenv.Main(m) }
