package rowset_test

import (
	"testing"
	"time"
	_ "time/tzdata" // for the zone below, on machines without a zone database

	"github.com/dogpile-go/dogpile/internal/testenv"
)

func TestMain(m *testing.M) {
	// Local must not look like UTC, or a replay that confused the two
	// would pass: run in a zone with an offset and daylight saving time.
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		panic(err)
	}
	time.Local = loc
	testenv.Main(m)
}
