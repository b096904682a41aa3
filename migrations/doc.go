// Package migrations installs in a PostgreSQL database what dogpile needs
// there: triggers that announce committed writes, so that writes the
// cachedsql wrapper never saw (psql, another service, a migration, a
// trigger) still invalidate the cache (see "Writes the program never saw"
// in the project's docs/consistency.md).
//
//	db, _ := sql.Open("pgx", os.Getenv("DATABASE_URL"))
//	if _, err := migrations.Up(ctx, db); err != nil { // a no-op when up to date
//		return err
//	}
//	if err := migrations.Watch(ctx, db, "users", "sales.orders"); err != nil {
//		return err
//	}
//	// Every committed write to users or sales.orders, by anyone, now
//	// sends NOTIFY dogpile_invalidate, 'public.users' (or 'sales.orders').
//
// The command dogpile-migrate (migrations/cmd/dogpile-migrate) does the same
// from a shell.
//
// # What is installed
//
// Everything lives in one schema, [DefaultSchema] unless [WithSchema] names
// another: goose's version table [VersionTable], and these functions.
//
//   - notify_trigger(): the trigger function. [Migrator.Watch] attaches it to a
//     table as a statement-level AFTER INSERT OR UPDATE OR DELETE OR
//     TRUNCATE trigger named [Migrator.TriggerName], enabled ALWAYS (it fires
//     in sessions with session_replication_role = replica too).
//   - watch(regclass), unwatch(regclass), watched(): attach, detach, list.
//   - notify(VARIADIC regclass[]), notify_all(): notifications sent by hand,
//     for writes no trigger saw.
//   - channel(), table_tag(...), notify_payload(text), notify_table(regclass),
//     quote_tag_part(text): the helpers they share.
//
// The SQL is embedded (sql/*.sql) as goose migrations, each reversible,
// applied in its own transaction under an advisory lock of the schema's, so
// processes that start together apply each once. Schema, channel and
// trigger names are checked to be plain identifiers before they are put in
// the SQL ([ErrInvalidName]).
//
// # Notifications
//
// The channel is [DefaultChannel] unless [WithChannel] names another; it is
// fixed when the schema is installed. The payload names the table written:
// its schema and name as PostgreSQL stores them, joined by a dot, each in
// double quotes unless it is a plain lower-case identifier
// ([FormatTable]: public.users, sales."Orders"), which is how package
// sqlanalysis writes a schema-qualified table. [ParsePayload] reads it back.
// The payload [PayloadAll] ("*") says every table may have changed.
//
// What a listener can rely on:
//
//   - Notifications are sent when the writing transaction commits, and
//     never for one that rolls back (NOTIFY is transactional).
//   - One notification per table per transaction, however many statements
//     wrote it: the payload is the same for every statement on a table, and
//     PostgreSQL delivers identical notifications of one transaction once.
//     A transaction that writes two tables sends two.
//   - A write to a partition, or to a table that inherits from others
//     (INHERITS), also names the tables above it, and a write through a
//     partitioned or parent table names every table below it; watching any
//     table of such a tree watches the tables above and below it.
//   - A payload never reaches NOTIFY's 8000-byte limit: a table's tag is at
//     most 257 bytes, and one that could not fit (a server built with a
//     larger NAMEDATALEN) is sent as [PayloadAll].
//
// What it cannot rely on: notifications sent while it was not listening are
// lost, so a listener that reconnects must treat everything as changed;
// writes with triggers disabled (ALTER TABLE ... DISABLE TRIGGER, pg_restore
// --disable-triggers) and rows applied by logical replication (whose apply
// worker fires no statement triggers but TRUNCATE's) send nothing, and
// should be followed by [Migrator.Notify] or [Migrator.NotifyAll];
// partitions and children created after Watch are not watched until Watch
// runs again; and changes of a tree's shape send nothing though they change
// what its parent returns (ATTACH PARTITION, DETACH PARTITION, DROP of a
// partition, ALTER TABLE ... [NO] INHERIT), nor do other schema changes
// (a column added, a view replaced): follow them with [Migrator.Notify] of
// the parent, or let a superuser install [Migrator.WatchSchemaChanges],
// an event trigger that answers each with [PayloadAll].
//
// # Privileges
//
// The first Up creates the schema, which needs the CREATE privilege on the
// database; later Ups, which find nothing to do, need only SELECT on the
// version table. Watch needs the TRIGGER privilege on each table (its owner
// has it). Roles that write to watched tables need nothing: the trigger's
// functions are granted to PUBLIC, since the trigger runs as the writer.
package migrations
