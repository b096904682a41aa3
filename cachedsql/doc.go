// Package cachedsql is a drop-in replacement for *sqlx.DB whose reads are
// cached in a region and whose writes invalidate what they touched, with
// commit hooks.
//
// A program written against sqlx changes its import and nothing else:
//
//	db, err := cachedsql.Connect("pgx", dsn) // github.com/jackc/pgx/v5/stdlib
//	…
//	var users []User
//	err = db.Select(&users, "SELECT * FROM users WHERE org_id = $1", orgID) // cached
//	_, err = db.Exec("UPDATE users SET name = $1 WHERE id = $2", name, id)    // invalidates users
//
// By default a DB caches in a region of its own on the in-process memory
// store; [WithBackend] puts it on a shared store (Redis) so that several
// processes share one cache and one invalidation, and [WithRegion] on a
// region the program configured.
//
// # What is cached
//
// Every statement is analysed (package sqlanalysis). A single read-only
// query that the analyzer proves deterministic — no locking clause, no
// volatile function (now(), random(), …), no function it does not know —
// is cached outside a transaction, keyed by its normalized text, its
// arguments with their types, the DB's namespace and, on PostgreSQL, the
// session settings that shape the values a query returns (TimeZone,
// DateStyle, IntervalStyle, extra_float_digits, bytea_output, lc_monetary,
// lc_numeric, lc_time, search_path and the schemas it resolves to,
// transform_null_equals, default_text_search_config, …), and the role
// (current_user, row_security) with the settings [WithSessionSettings]
// names, so that a role is not served rows the database would refuse it
// or filter out (privileges and policies as they were when the rows were
// cached: changed outside the program, by psql say, they are seen when
// the results expire): all read once, on the first connection the DB
// takes or its first cacheable read. With those
// in the key, time-zone-dependent functions (date_trunc, extract, to_char,
// …) are cacheable on PostgreSQL; elsewhere they are not. A read is tagged
// with the tables it reads (for a view, the tables behind it when
// [WithViews] names them; [PostgresViews] and [SQLiteViews] read them from
// the database).
// Everything else runs on the database. Per call, the context can set a
// TTL ([ContextWithTTL]), add tags ([ContextWithTags]), skip the cache
// ([SkipCache]) or refresh it ([RefreshCache]); per DB, options set the TTL
// and its jitter, row and byte limits, the namespace, and whether reads
// are cached by default or only on request.
//
// A hit gives real *sql.Rows (and *sqlx.Rows): the same columns, column
// types and driver values the database gave, sql.ErrNoRows where it was,
// and memory no other caller shares.
//
// Two things differ from sqlx on a cacheable read, both because a result is
// read whole before it is cached and handed to whoever waits for it:
//
//   - A query that fails part way (a division by zero at the 4,000th row,
//     say) returns its error from Query, Get or Select, with no rows; over
//     pgx alone the rows before the error come first. Nothing is cached.
//   - A caller's context bounds its wait, not the query: when it ends the
//     caller gets its error at once, and the query runs on, on a
//     connection of the pool, to fill the cache for the next callers (and
//     for others waiting on the same key, whose contexts may not have
//     ended). Reads with [SkipCache], or that are not cached, are
//     cancelled with the context as with pgx.
//
// # Consistency
//
// Cached results carry the versions their tables had before the query ran;
// a hit is served only while they are current. A write marks its tables
// pending before it runs (no process serves or fills them meanwhile) and
// bumps them once it is committed — at the end of the statement outside a
// transaction, before Commit returns inside one — so every read that begins
// after a write returned sees it, and no reader can store rows from before
// it. See package invalidation and the project's docs/consistency.md.
//
// Every statement, whichever path it takes (DB, Tx, Conn, prepared
// statements, sqlx's helpers), passes through the caching driver that the
// embedded *sqlx.DB runs on, so no write goes unseen. What a write does
// beyond the tables its SQL names is for the DB to be told: the
// partitions or children of a table written ([WithViews];
// [PostgresViews] lists them), and the rows a foreign key's action or a
// trigger changes elsewhere ([WithCascades]; [PostgresCascades] and
// [SQLiteCascades] list the foreign keys). Writes made outside the program
// reach the cache through PostgreSQL change notifications (packages
// migrations and invalidation).
//
// # Transactions and hooks
//
// Beginx and friends return a [Tx], which embeds *sqlx.Tx and adds
// [Tx.AfterCommit], [Tx.AfterRollback] and [Tx.RefreshAfterCommit], which
// re-creates cached results in the background after the commit.
//
// Transactions begun and ended by text on a [*sql.Conn] are tracked too:
// BEGIN, START TRANSACTION, COMMIT, ROLLBACK, END, ABORT and AND CHAIN,
// also inside strings of several statements ("BEGIN; UPDATE …"), whose
// writes are charged to every transaction the string touches. A
// transaction prepared with PREPARE TRANSACTION keeps its tables pending
// until COMMIT PREPARED or ROLLBACK PREPARED, sent on any connection of the
// DB; COMMIT PREPARED of a transaction the DB did not prepare invalidates
// everything. Text that ends a transaction inside a [Tx] is refused with
// [ErrTxControl].
package cachedsql
