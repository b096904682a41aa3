package rowset

func init() { countDirectScans = true }

// ReplayDB is the database/sql pool replays run on, for tests that check
// that replays give their connections back.
var ReplayDB = replayDB

// SetDirectScan turns the direct scan of Select and Get on or off, and
// returns the previous setting; DirectScans counts the scans it did.
func SetDirectScan(on bool) bool {
	was := directScanEnabled
	directScanEnabled = on
	return was
}

// DirectScans returns how many Selects and Gets were scanned directly.
func DirectScans() int64 { return directScans.Load() }
