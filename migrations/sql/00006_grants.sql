-- EXECUTE to PUBLIC on the functions of migrations 3 to 5, as migration 1
-- grants it on its own. A database whose default privileges revoke EXECUTE
-- from PUBLIC (ALTER DEFAULT PRIVILEGES ... REVOKE EXECUTE ON FUNCTIONS)
-- gave them to their owner only, and they run as whoever writes:
-- notify_table(), which every watched table's trigger calls, calls
-- related() since migration 4, so every write by another role failed with
-- "permission denied for function related"; and the event trigger's
-- notify_ddl() calls notify_all(), so every other role's ALTER TABLE
-- failed once WatchSchemaChanges was on. notify() and notify_all() are
-- granted so that an application's own role can call Migrator.Notify and
-- NotifyAll. None gives more than any role has: pg_notify is open to all.
--
-- A template, like every file here: see 00001_notify_trigger.sql.

-- +goose Up
GRANT EXECUTE ON FUNCTION
    {{schema}}.related(regclass),
    {{schema}}.notify_all(),
    {{schema}}.notify(regclass[]),
    {{schema}}.notify_ddl()
    TO PUBLIC;

-- +goose Down
-- Nothing: revoking EXECUTE from PUBLIC would also take away what a
-- database with PostgreSQL's default privileges gave before this migration,
-- and break every other role's writes to watched tables. The grants go
-- with the functions when migrations 5, 4 and 3 are rolled back.
