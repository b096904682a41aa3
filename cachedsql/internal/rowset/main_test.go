package rowset_test

import (
	"testing"

	"github.com/dogpile-go/dogpile/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
