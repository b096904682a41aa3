package rowset

import (
	"fmt"
	"sync"
	"time"
)

// How a time.Time's location is encoded: UTC and Local as themselves (so a
// decoding process's Local stands for its own zone, as its driver would
// have returned it), a location of the time zone database by name, a
// fixed zone (time.FixedZone, as some drivers build for timestamptz) by
// name and offset, and a location already defined in the same set by its
// index.
const (
	locUTC   = 0
	locLocal = 1
	locNamed = 2
	locFixed = 3
	locRef   = 4
)

// maxCachedLocations bounds each location cache: names that load are a
// few hundred, but fixed zones and failed names come from data.
const maxCachedLocations = 4096

// locationCache caches time.LoadLocation by name (it reads the zone
// database on every call) and fixed zones by name and offset. It is safe
// for concurrent use by multiple goroutines.
type locationCache struct {
	mu    sync.Mutex
	named map[string]*time.Location // nil value: the name does not load
	fixed map[fixedZone]*time.Location
}

type fixedZone struct {
	name   string
	offset int
}

var locations = locationCache{
	named: make(map[string]*time.Location),
	fixed: make(map[fixedZone]*time.Location),
}

// load returns the location of the time zone database called name, or
// nil when there is none by that name on this machine.
func (c *locationCache) load(name string) *time.Location {
	c.mu.Lock()
	loc, ok := c.named[name]
	c.mu.Unlock()
	if ok {
		return loc
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = nil
	}
	c.mu.Lock()
	if len(c.named) < maxCachedLocations {
		c.named[name] = loc
	}
	c.mu.Unlock()
	return loc
}

// fixedZone returns time.FixedZone(name, offset), shared.
func (c *locationCache) fixedZone(name string, offset int) *time.Location {
	k := fixedZone{name, offset}
	c.mu.Lock()
	defer c.mu.Unlock()
	if loc, ok := c.fixed[k]; ok {
		return loc
	}
	loc := time.FixedZone(name, offset)
	if len(c.fixed) < maxCachedLocations {
		c.fixed[k] = loc
	}
	return loc
}

// probeInstants are the instants at which isFixed compares a location's
// zone: the ends of time.Time's range and dates spread over the eras of
// the time zone database.
var probeInstants = []time.Time{
	time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
	time.Date(1850, 1, 1, 0, 0, 0, 0, time.UTC),
	time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC),
	time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC),
	time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
	time.Date(2000, 1, 15, 0, 0, 0, 0, time.UTC),
	time.Date(2000, 7, 15, 0, 0, 0, 0, time.UTC),
	time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC),
	time.Date(2025, 7, 15, 0, 0, 0, 0, time.UTC),
	time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
	time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC),
}

// isFixed reports whether loc behaves as time.FixedZone(loc.String(), …)
// does: one zone, named as the location, at every probed instant.
func isFixed(loc *time.Location) bool {
	name := loc.String()
	var offset0 int
	for i, t := range probeInstants {
		zname, offset := t.In(loc).Zone()
		if zname != name || (i > 0 && offset != offset0) {
			return false
		}
		offset0 = offset
	}
	return true
}

// locationEncoding is how one location is written, decided once per
// location and set.
type locationEncoding struct {
	kind   byte // locNamed or locFixed
	name   string
	offset int // locFixed only
}

// classifyLocation decides how t's location is encoded: UTC, Local, by
// name when the time zone database has that name and it gives t the same
// zone, as a fixed zone when it is one; anything else (a location built
// from custom zone data, say) cannot be carried exactly and is an error.
func classifyLocation(t time.Time) (locationEncoding, error) {
	loc := t.Location()
	name := loc.String()
	if name != "" && name != "UTC" && name != "Local" {
		if l := locations.load(name); l != nil {
			zn, zo := t.Zone()
			ln, lo := t.In(l).Zone()
			if zn == ln && zo == lo {
				return locationEncoding{kind: locNamed, name: name}, nil
			}
		}
	}
	if isFixed(loc) {
		_, offset := t.Zone()
		return locationEncoding{kind: locFixed, name: name, offset: offset}, nil
	}
	return locationEncoding{}, fmt.Errorf("location %q is neither in this machine's time zone database nor a fixed zone", name)
}
