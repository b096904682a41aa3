// Command dogpile-migrate installs, upgrades and removes dogpile's objects
// in a PostgreSQL database (package migrations), and chooses the tables
// whose writes notify the cache.
//
//	dogpile-migrate [flags] command [table ...]
//
// Run it with -h for the commands. The database comes from -database or
// DATABASE_URL. Output is for people; errors go to standard error with a
// non-zero exit status (1 for a failure, 2 for a usage mistake).
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/dogpile-go/dogpile/migrations"
)

const usage = `usage: dogpile-migrate [flags] command [table ...]

Installs in a PostgreSQL database the triggers that tell dogpile's cache
about writes it did not make, and chooses the tables that have them.

Commands:
  up               apply every pending migration
  down             roll back the most recent migration
  down-all         roll back every migration (watched tables lose their triggers)
  status           list the migrations: version, name, state, applied at
  watch TABLE...   make committed writes to the tables notify the cache
  unwatch TABLE... stop that
  watched          list the watched tables
  notify TABLE...  notify the cache of the tables now, as a write would
  notify-all       tell the cache that every table may have changed
  watch-ddl        make schema changes (ALTER TABLE, DROP TABLE, a view
                   replaced, ...) tell the cache that every table may have
                   changed; needs a superuser (an event trigger). Run it
                   again after up to replace an older trigger
  unwatch-ddl      stop that

Tables are named as in SQL: users, sales.orders, '"MixedCase"'.

Flags (before or after the command, before any table):
  -database URL    PostgreSQL URL (default: $DATABASE_URL)
  -schema NAME     schema of dogpile's objects (default: dogpile)
  -channel NAME    NOTIFY channel, fixed by the first up (default: dogpile_invalidate)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one subcommand: how many tables it takes, and what it does.
type command struct {
	tables bool // takes one or more tables, else none
	run    func(ctx context.Context, m *migrations.Migrator, tables []string, out io.Writer) error
}

var commands = map[string]command{
	"up":          {run: up},
	"down":        {run: down},
	"down-all":    {run: downAll},
	"status":      {run: status},
	"watch":       {tables: true, run: watch},
	"unwatch":     {tables: true, run: unwatch},
	"watched":     {run: watched},
	"notify":      {tables: true, run: notify},
	"notify-all":  {run: notifyAll},
	"watch-ddl":   {run: watchDDL},
	"unwatch-ddl": {run: unwatchDDL},
}

// run is the whole program, apart from the process: it returns the exit
// status.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("dogpile-migrate", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() { fmt.Fprint(stderr, usage) }
	database := flags.String("database", "", "")
	schema := flags.String("schema", migrations.DefaultSchema, "")
	channel := flags.String("channel", migrations.DefaultChannel, "")
	// parse returns the exit status when the flags end the run: 0 after
	// -h (the usage is printed), 2 after a mistake.
	parse := func(args []string) (status int, done bool) {
		switch err := flags.Parse(args); {
		case errors.Is(err, flag.ErrHelp):
			return 0, true
		case err != nil:
			return 2, true
		}
		return 0, false
	}

	if status, done := parse(args); done {
		return status
	}
	if flags.NArg() == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	name := flags.Arg(0)
	if name == "help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "dogpile-migrate: unknown command %q\n\n%s", name, usage)
		return 2
	}
	if status, done := parse(flags.Args()[1:]); done { // flags may follow the command
		return status
	}
	tables := flags.Args()
	switch {
	case cmd.tables && len(tables) == 0:
		fmt.Fprintf(stderr, "dogpile-migrate %s: name at least one table\n", name)
		return 2
	case !cmd.tables && len(tables) > 0:
		fmt.Fprintf(stderr, "dogpile-migrate %s: takes no arguments, got %q\n", name, tables)
		return 2
	}

	url := *database
	if url == "" {
		url = getenv("DATABASE_URL")
	}
	if url == "" {
		fmt.Fprintf(stderr, "dogpile-migrate %s: no database: pass -database URL or set DATABASE_URL\n", name)
		return 2
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		fmt.Fprintf(stderr, "dogpile-migrate %s: %v\n", name, err)
		return 2
	}
	defer db.Close()
	m, err := migrations.New(db, migrations.WithSchema(*schema), migrations.WithChannel(*channel))
	if err != nil {
		fmt.Fprintf(stderr, "dogpile-migrate %s: %v\n", name, err)
		return 2
	}
	if err := db.PingContext(ctx); err != nil {
		fmt.Fprintf(stderr, "dogpile-migrate %s: cannot connect to the database: %v\n", name, err)
		return 1
	}
	if err := cmd.run(ctx, m, tables, stdout); err != nil {
		fmt.Fprintf(stderr, "dogpile-migrate %s: %v\n", name, err)
		return 1
	}
	return 0
}

func up(ctx context.Context, m *migrations.Migrator, _ []string, out io.Writer) error {
	res, err := m.Up(ctx)
	printResults(out, "applied", res)
	if err != nil {
		return err
	}
	if len(res) == 0 {
		fmt.Fprintf(out, "nothing to apply: schema %s is up to date (version %d)\n", m.Schema(), migrations.LatestVersion())
		return noteOutdatedDDL(ctx, m, out)
	}
	fmt.Fprintf(out, "schema %s is up to date (version %d); watched tables notify on channel %s\n",
		m.Schema(), migrations.LatestVersion(), m.Channel())
	return noteOutdatedDDL(ctx, m, out)
}

// noteOutdatedDDL says when the event trigger was made before version 7:
// up cannot replace it (that needs a superuser), watch-ddl can.
func noteOutdatedDDL(ctx context.Context, m *migrations.Migrator, out io.Writer) error {
	outdated, err := m.SchemaChangeTriggerOutdated(ctx)
	if err != nil || !outdated {
		return err
	}
	fmt.Fprintf(out, "event trigger %s misses GRANT, REVOKE and DROP OWNED: run watch-ddl (as a superuser) to replace it\n", m.TriggerName())
	return nil
}

func down(ctx context.Context, m *migrations.Migrator, _ []string, out io.Writer) error {
	before, _ := m.Watched(ctx) // to say which tables lose their triggers
	res, err := m.Down(ctx)
	if errors.Is(err, migrations.ErrNothingToRollBack) {
		fmt.Fprintln(out, "nothing to roll back: no migration is applied")
		return nil
	}
	if err != nil {
		return err
	}
	printResults(out, "rolled back", []migrations.MigrationResult{res})
	return printVersion(ctx, m, before, out)
}

func downAll(ctx context.Context, m *migrations.Migrator, _ []string, out io.Writer) error {
	before, _ := m.Watched(ctx)
	res, err := m.DownAll(ctx)
	printResults(out, "rolled back", res)
	if err != nil {
		return err
	}
	if len(res) == 0 {
		fmt.Fprintln(out, "nothing to roll back: no migration is applied")
		return nil
	}
	return printVersion(ctx, m, before, out)
}

// printVersion says where a roll-back left the schema, and which tables it
// unwatched.
func printVersion(ctx context.Context, m *migrations.Migrator, watchedBefore []string, out io.Writer) error {
	v, err := m.Version(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "schema %s is at version %d of %d\n", m.Schema(), v, migrations.LatestVersion())
	if v == 0 && len(watchedBefore) > 0 {
		fmt.Fprintf(out, "no longer watched (their triggers went with migration 1): %s\n", strings.Join(watchedBefore, ", "))
	}
	return nil
}

func printResults(out io.Writer, verb string, res []migrations.MigrationResult) {
	for _, r := range res {
		fmt.Fprintf(out, "%s %d %s (%s)\n", verb, r.Version, r.Name, r.Duration.Round(100*time.Microsecond))
	}
}

func status(ctx context.Context, m *migrations.Migrator, _ []string, out io.Writer) error {
	st, err := m.Status(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "VERSION\tNAME\tSTATE\tAPPLIED AT")
	pending := 0
	for _, s := range st {
		at := "-"
		if s.State == migrations.StateApplied {
			at = s.AppliedAt.Format(time.DateTime)
		} else {
			pending++
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", s.Version, s.Name, s.State, at)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if pending > 0 {
		fmt.Fprintf(out, "%d pending in schema %s: run dogpile-migrate up\n", pending, m.Schema())
	}
	return nil
}

func watch(ctx context.Context, m *migrations.Migrator, tables []string, out io.Writer) error {
	return changeWatched(ctx, m, out, func() error { return m.Watch(ctx, tables...) })
}

func unwatch(ctx context.Context, m *migrations.Migrator, tables []string, out io.Writer) error {
	return changeWatched(ctx, m, out, func() error { return m.Unwatch(ctx, tables...) })
}

// changeWatched runs change and says which tables it started or stopped
// watching: more than were named, for partition trees.
func changeWatched(ctx context.Context, m *migrations.Migrator, out io.Writer, change func() error) error {
	before, err := m.Watched(ctx)
	if err != nil {
		return err
	}
	if err := change(); err != nil {
		return err
	}
	after, err := m.Watched(ctx)
	if err != nil {
		return err
	}
	changed := false
	for _, t := range after {
		if !slices.Contains(before, t) {
			fmt.Fprintf(out, "watching %s\n", t)
			changed = true
		}
	}
	for _, t := range before {
		if !slices.Contains(after, t) {
			fmt.Fprintf(out, "no longer watching %s\n", t)
			changed = true
		}
	}
	if !changed {
		fmt.Fprintln(out, "nothing to change")
	}
	return nil
}

func watched(ctx context.Context, m *migrations.Migrator, _ []string, out io.Writer) error {
	tags, err := m.Watched(ctx)
	if err != nil {
		return err
	}
	if len(tags) == 0 {
		fmt.Fprintln(out, "no table is watched")
		return nil
	}
	for _, t := range tags {
		fmt.Fprintln(out, t)
	}
	return nil
}

func notify(ctx context.Context, m *migrations.Migrator, tables []string, out io.Writer) error {
	if err := m.Notify(ctx, tables...); err != nil {
		return err
	}
	fmt.Fprintf(out, "notified: %s\n", strings.Join(tables, ", "))
	return nil
}

func notifyAll(ctx context.Context, m *migrations.Migrator, _ []string, out io.Writer) error {
	if err := m.NotifyAll(ctx); err != nil {
		return err
	}
	fmt.Fprintln(out, "notified: every table may have changed")
	return nil
}

func watchDDL(ctx context.Context, m *migrations.Migrator, _ []string, out io.Writer) error {
	return switchDDL(ctx, m, true, out)
}

func unwatchDDL(ctx context.Context, m *migrations.Migrator, _ []string, out io.Writer) error {
	return switchDDL(ctx, m, false, out)
}

// switchDDL installs (on) or removes the schema change event trigger, and
// says what changed.
func switchDDL(ctx context.Context, m *migrations.Migrator, on bool, out io.Writer) error {
	was, err := m.WatchingSchemaChanges(ctx)
	if err != nil {
		return err
	}
	if was == on {
		if on {
			return upgradeDDL(ctx, m, out)
		}
		fmt.Fprintln(out, "nothing to change")
		return nil
	}
	if on {
		err = m.WatchSchemaChanges(ctx)
	} else {
		err = m.UnwatchSchemaChanges(ctx)
	}
	if err != nil {
		return err
	}
	if on {
		fmt.Fprintf(out, "watching schema changes (event trigger %s)\n", m.TriggerName())
	} else {
		fmt.Fprintln(out, "no longer watching schema changes")
	}
	return nil
}

// upgradeDDL replaces an event trigger made before version 7, which misses
// GRANT, REVOKE and DROP OWNED, and says so: "nothing to change" would
// hide that the trigger changed, or that it could not be.
func upgradeDDL(ctx context.Context, m *migrations.Migrator, out io.Writer) error {
	outdated, err := m.SchemaChangeTriggerOutdated(ctx)
	if err != nil {
		return err
	}
	// Run even for a current trigger: it also turns a disabled one back on.
	if err := m.WatchSchemaChanges(ctx); err != nil {
		return err
	}
	if !outdated {
		fmt.Fprintln(out, "nothing to change")
		return nil
	}
	if still, err := m.SchemaChangeTriggerOutdated(ctx); err != nil {
		return err
	} else if still { // watch_ddl() of a schema before version 7
		fmt.Fprintf(out, "event trigger %s misses GRANT, REVOKE and DROP OWNED: run up, then watch-ddl again\n", m.TriggerName())
		return nil
	}
	fmt.Fprintf(out, "replaced event trigger %s, which missed GRANT, REVOKE and DROP OWNED\n", m.TriggerName())
	return nil
}
