package invalidation_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/internal/testenv"
)

// A listener's connection is idle by design: it waits for notifications
// and pings only after PingEvery of silence. A server whose
// idle_session_timeout (PostgreSQL 14 and later) is shorter than that
// must not end it again and again: each reconnection invalidates
// everything the listener guards, in every process sharing the store,
// and this process bypasses the cache meanwhile (found in an audit: with
// the database's idle_session_timeout at 300ms the listener reconnected
// three times a second).
func TestListenerOutlivesIdleSessionTimeout(t *testing.T) {
	f := newPGFixture(t, testenv.PostgresDB(t), pgFixtureOptions{})
	if v, _ := strconv.Atoi(testenv.Psql(t, f.dsn, "SHOW server_version_num")); v < 140000 {
		t.Skipf("server_version_num %d: no idle_session_timeout before PostgreSQL 14", v)
	}
	testenv.Psql(t, f.dsn, "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET idle_session_timeout = 300', current_database()); END $$")
	f.start(t)
	time.Sleep(1500 * time.Millisecond)
	if s := f.l.Stats(); s.Reconnects != 0 || !s.Healthy {
		t.Errorf("after 1.5s of silence with idle_session_timeout 300ms: %d reconnections, healthy %v, last error %v", s.Reconnects, s.Healthy, s.LastError)
	}
}
