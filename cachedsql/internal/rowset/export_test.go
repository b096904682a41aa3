package rowset

// ReplayDB is the database/sql pool replays run on, for tests that check
// that replays give their connections back.
var ReplayDB = replayDB
