package main

import (
	"bytes"
	"context"
	"database/sql"
	"regexp"
	"strings"
	"testing"

	"github.com/dogpile-go/dogpile/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// invoke runs the command with args and DATABASE_URL set to env.
func invoke(t *testing.T, env string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(k string) string {
		if k == "DATABASE_URL" {
			return env
		}
		return ""
	}
	code = run(t.Context(), args, getenv, &out, &errOut)
	return out.String(), errOut.String(), code
}

var (
	durations = regexp.MustCompile(`\(\d[0-9.]*[µm]?s\)`)
	times     = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`)
)

// normalize replaces what changes from run to run.
func normalize(s string) string {
	s = durations.ReplaceAllString(s, "(DURATION)")
	return times.ReplaceAllString(s, "YYYY-MM-DD HH:MM:SS")
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		env    string
		args   []string
		code   int
		stdout string // all of it
		stderr string // part of it
	}{
		{"no command", "", nil, 2, "", "usage: dogpile-migrate [flags] command"},
		{"help", "", []string{"help"}, 0, usage, ""},
		{"-h", "", []string{"-h"}, 0, "", "usage: dogpile-migrate"},
		{"-h after the command", "", []string{"up", "-h"}, 0, "", "usage: dogpile-migrate"},
		{"-help after the command", "", []string{"watch", "-help"}, 0, "", "usage: dogpile-migrate"},
		{"unknown command", "", []string{"migrate"}, 2, "", `dogpile-migrate: unknown command "migrate"`},
		{"unknown flag", "", []string{"-db", "x", "up"}, 2, "", "flag provided but not defined: -db"},
		{"no database", "", []string{"status"}, 2, "", "dogpile-migrate status: no database: pass -database URL or set DATABASE_URL\n"},
		{"no table", "postgres://x", []string{"watch"}, 2, "", "dogpile-migrate watch: name at least one table\n"},
		{"extra arguments", "postgres://x", []string{"up", "now"}, 2, "", `dogpile-migrate up: takes no arguments, got ["now"]`},
		{"bad schema", "postgres://x", []string{"-schema", "Cache", "up"}, 2, "", `dogpile-migrate up: migrations: invalid name: schema name "Cache" contains 'C'`},
		{"bad channel", "postgres://x", []string{"up", "-channel", "a-b"}, 2, "", `channel name "a-b" contains '-'`},
		{"unreachable database", "postgres://nobody@127.0.0.1:1/x?connect_timeout=5", []string{"status"}, 1, "", "dogpile-migrate status: cannot connect to the database: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := invoke(t, tc.env, tc.args...)
			if code != tc.code || stdout != tc.stdout || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("dogpile-migrate %q = %d\nstdout: %q\nstderr: %q\nwant %d, stdout %q, stderr containing %q",
					tc.args, code, stdout, stderr, tc.code, tc.stdout, tc.stderr)
			}
			if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
				t.Errorf("stack trace on stderr: %s", stderr)
			}
		})
	}
}

// TestCommands runs every command against a real database, in the order
// an operator would, and checks what each prints.
func TestCommands(t *testing.T) {
	dsn := testenv.PostgresDB(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range []string{
		"CREATE TABLE items (id int)",
		`CREATE TABLE "MixedCase" (id int)`,
		"CREATE TABLE events (id int) PARTITION BY LIST (id)",
		"CREATE TABLE events_1 PARTITION OF events FOR VALUES IN (1)",
	} {
		if _, err := db.ExecContext(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}

	for _, step := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"status"}, 0, `VERSION  NAME            STATE    APPLIED AT
1        notify_trigger  pending  -
2        watch           pending  -
3        notify          pending  -
4        inheritance     pending  -
5        schema_changes  pending  -
6        grants          pending  -
7        watch_grants    pending  -
7 pending in schema dogpile: run dogpile-migrate up
`, ""},
		{[]string{"watched"}, 1, "", "dogpile-migrate watched: migrations: not installed; run Up (dogpile-migrate up) first: no function \"dogpile\".watched() in the database\n"},
		{[]string{"up"}, 0, `applied 1 notify_trigger (DURATION)
applied 2 watch (DURATION)
applied 3 notify (DURATION)
applied 4 inheritance (DURATION)
applied 5 schema_changes (DURATION)
applied 6 grants (DURATION)
applied 7 watch_grants (DURATION)
schema dogpile is up to date (version 7); watched tables notify on channel dogpile_invalidate
`, ""},
		{[]string{"up"}, 0, "nothing to apply: schema dogpile is up to date (version 7)\n", ""},
		{[]string{"status"}, 0, `VERSION  NAME            STATE    APPLIED AT
1        notify_trigger  applied  YYYY-MM-DD HH:MM:SS
2        watch           applied  YYYY-MM-DD HH:MM:SS
3        notify          applied  YYYY-MM-DD HH:MM:SS
4        inheritance     applied  YYYY-MM-DD HH:MM:SS
5        schema_changes  applied  YYYY-MM-DD HH:MM:SS
6        grants          applied  YYYY-MM-DD HH:MM:SS
7        watch_grants    applied  YYYY-MM-DD HH:MM:SS
`, ""},
		{[]string{"watched"}, 0, "no table is watched\n", ""},
		{[]string{"watch", "items", `"MixedCase"`, "events"}, 0, `watching public."MixedCase"
watching public.events
watching public.events_1
watching public.items
`, ""},
		{[]string{"watch", "items"}, 0, "nothing to change\n", ""},
		{[]string{"watch", "nope"}, 1, "", `dogpile-migrate watch: migrations: no such table: "nope" (name it as in SQL: schema-qualified unless it is on the search_path, in double quotes if it has capitals)` + "\n"},
		{[]string{"watched"}, 0, `public."MixedCase"
public.events
public.events_1
public.items
`, ""},
		{[]string{"unwatch", "events"}, 0, "no longer watching public.events\nno longer watching public.events_1\n", ""},
		{[]string{"unwatch", "events"}, 0, "nothing to change\n", ""},
		{[]string{"notify", "items", "events"}, 0, "notified: items, events\n", ""},
		{[]string{"notify-all"}, 0, "notified: every table may have changed\n", ""},
		{[]string{"watch-ddl"}, 0, "watching schema changes (event trigger dogpile_notify)\n", ""},
		{[]string{"watch-ddl"}, 0, "nothing to change\n", ""},
		{[]string{"unwatch-ddl"}, 0, "no longer watching schema changes\n", ""},
		{[]string{"unwatch-ddl"}, 0, "nothing to change\n", ""},
		{[]string{"watch-ddl"}, 0, "watching schema changes (event trigger dogpile_notify)\n", ""},
		{[]string{"down"}, 0, "rolled back 7 watch_grants (DURATION)\nschema dogpile is at version 6 of 7\n", ""},
		{[]string{"down"}, 0, "rolled back 6 grants (DURATION)\nschema dogpile is at version 5 of 7\n", ""},
		{[]string{"down"}, 0, "rolled back 5 schema_changes (DURATION)\nschema dogpile is at version 4 of 7\n", ""},
		{[]string{"watch-ddl"}, 1, "", "dogpile-migrate watch-ddl: migrations: not installed; run Up (dogpile-migrate up) first: no function \"dogpile\".watch_ddl() in the database\n"},
		{[]string{"down"}, 0, "rolled back 4 inheritance (DURATION)\nschema dogpile is at version 3 of 7\n", ""},
		{[]string{"down"}, 0, "rolled back 3 notify (DURATION)\nschema dogpile is at version 2 of 7\n", ""},
		{[]string{"notify-all"}, 1, "", "dogpile-migrate notify-all: migrations: not installed; run Up (dogpile-migrate up) first: no function \"dogpile\".notify_all() in the database\n"},
		{[]string{"down-all"}, 0, `rolled back 2 watch (DURATION)
rolled back 1 notify_trigger (DURATION)
schema dogpile is at version 0 of 7
no longer watched (their triggers went with migration 1): public."MixedCase", public.items
`, ""},
		{[]string{"down"}, 0, "nothing to roll back: no migration is applied\n", ""},
		{[]string{"down-all"}, 0, "nothing to roll back: no migration is applied\n", ""},
		// Flags after the command, and another schema.
		{[]string{"up", "-schema", "cache2", "-channel", "cache2_changes"}, 0, `applied 1 notify_trigger (DURATION)
applied 2 watch (DURATION)
applied 3 notify (DURATION)
applied 4 inheritance (DURATION)
applied 5 schema_changes (DURATION)
applied 6 grants (DURATION)
applied 7 watch_grants (DURATION)
schema cache2 is up to date (version 7); watched tables notify on channel cache2_changes
`, ""},
		{[]string{"-schema", "cache2", "up"}, 1, "", `dogpile-migrate up: migrations: schema installed with another channel: schema "cache2" notifies on channel "cache2_changes", not "dogpile_invalidate"; run down-all and up again to change it` + "\n"},
	} {
		stdout, stderr, code := invoke(t, dsn, step.args...)
		stdout = normalize(stdout)
		if code != step.code || stdout != step.stdout || stderr != step.stderr {
			t.Errorf("dogpile-migrate %s = %d\nstdout:\n%s\nstderr:\n%s\nwant %d\nstdout:\n%s\nstderr:\n%s",
				strings.Join(step.args, " "), code, stdout, stderr, step.code, step.stdout, step.stderr)
		}
	}

	// -database wins over DATABASE_URL.
	stdout, stderr, code := invoke(t, "postgres://nobody@127.0.0.1:1/x", "-database", dsn, "-schema", "cache2", "watched")
	if code != 0 || stdout != "no table is watched\n" {
		t.Errorf("with -database: %d %q %q", code, stdout, stderr)
	}
}

// A schema change trigger made before version 7 misses GRANT, REVOKE and
// DROP OWNED. up cannot replace it and says so; watch-ddl, run again,
// replaces it and says that it did, rather than "nothing to change".
func TestWatchDDLUpgrade(t *testing.T) {
	dsn := testenv.PostgresDB(t)
	for _, step := range []struct {
		args   []string
		code   int
		stdout string
	}{
		{[]string{"up"}, 0, ""}, // TestCommands checks what it prints
		{[]string{"down"}, 0, "rolled back 7 watch_grants (DURATION)\nschema dogpile is at version 6 of 7\n"},
		{[]string{"watch-ddl"}, 0, "watching schema changes (event trigger dogpile_notify)\n"},
		{[]string{"watch-ddl"}, 0, "event trigger dogpile_notify misses GRANT, REVOKE and DROP OWNED: run up, then watch-ddl again\n"},
		{[]string{"up"}, 0, `applied 7 watch_grants (DURATION)
schema dogpile is up to date (version 7); watched tables notify on channel dogpile_invalidate
event trigger dogpile_notify misses GRANT, REVOKE and DROP OWNED: run watch-ddl (as a superuser) to replace it
`},
		{[]string{"up"}, 0, `nothing to apply: schema dogpile is up to date (version 7)
event trigger dogpile_notify misses GRANT, REVOKE and DROP OWNED: run watch-ddl (as a superuser) to replace it
`},
		{[]string{"watch-ddl"}, 0, "replaced event trigger dogpile_notify, which missed GRANT, REVOKE and DROP OWNED\n"},
		{[]string{"watch-ddl"}, 0, "nothing to change\n"},
		{[]string{"up"}, 0, "nothing to apply: schema dogpile is up to date (version 7)\n"},
	} {
		stdout, stderr, code := invoke(t, dsn, step.args...)
		stdout = normalize(stdout)
		if code != step.code || (step.stdout != "" && stdout != step.stdout) || stderr != "" {
			t.Errorf("dogpile-migrate %s = %d\nstdout:\n%s\nstderr:\n%s\nwant %d\nstdout:\n%s",
				strings.Join(step.args, " "), code, stdout, stderr, step.code, step.stdout)
		}
	}
}
