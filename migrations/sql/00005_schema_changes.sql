-- Schema changes, which send no notification of their own though they
-- change what queries return: ALTER TABLE (columns, ATTACH and DETACH
-- PARTITION, [NO] INHERIT), DROP of a table or a partition, a view
-- replaced, a materialized view refreshed, a row-level security policy.
-- watch_ddl() installs an event trigger that answers each with
-- notify_all(); creating an event trigger needs a superuser, so it is a
-- separate step from Up, which the program's own role can run.
--
-- A template, like every file here: see 00001_notify_trigger.sql.

-- +goose Up

-- notify_ddl() is the event trigger's function.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION {{schema}}.notify_ddl() RETURNS event_trigger
LANGUAGE plpgsql VOLATILE
AS $fn$
BEGIN
    PERFORM {{schema}}.notify_all();
END
$fn$;
-- +goose StatementEnd

-- has_ddl_trigger() reports whether dogpile's event trigger is there: of
-- dogpile's name, calling notify_ddl().
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION {{schema}}.has_ddl_trigger() RETURNS boolean
LANGUAGE sql STABLE
AS $fn$
    SELECT EXISTS (
        SELECT FROM pg_catalog.pg_event_trigger e
        WHERE e.evtname = {{trigger}} AND e.evtfoid = '{{schema}}.notify_ddl()'::regprocedure
    )
$fn$;
-- +goose StatementEnd

-- watch_ddl() installs the event trigger, named as the table triggers
-- are; it is idempotent. Temporary tables are left out: a session that
-- makes and alters them would empty every cache each time.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION {{schema}}.watch_ddl() RETURNS void
LANGUAGE plpgsql VOLATILE
AS $fn$
BEGIN
    IF {{schema}}.has_ddl_trigger() THEN
        RETURN;
    END IF;
    EXECUTE pg_catalog.format(
        'CREATE EVENT TRIGGER %I ON ddl_command_end WHEN TAG IN ('
        '''ALTER TABLE'', ''DROP TABLE'', ''ALTER VIEW'', ''CREATE VIEW'', ''DROP VIEW'', '
        '''ALTER MATERIALIZED VIEW'', ''DROP MATERIALIZED VIEW'', ''REFRESH MATERIALIZED VIEW'', '
        '''ALTER FOREIGN TABLE'', ''DROP FOREIGN TABLE'', ''ALTER SCHEMA'', ''DROP SCHEMA'', '
        '''CREATE RULE'', ''DROP RULE'', ''CREATE POLICY'', ''ALTER POLICY'', ''DROP POLICY'') '
        'EXECUTE FUNCTION %s', {{trigger}}, '{{schema}}.notify_ddl()');
END
$fn$;
-- +goose StatementEnd

-- unwatch_ddl() drops the event trigger, if it is dogpile's; idempotent.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION {{schema}}.unwatch_ddl() RETURNS void
LANGUAGE plpgsql VOLATILE
AS $fn$
BEGIN
    IF {{schema}}.has_ddl_trigger() THEN
        EXECUTE pg_catalog.format('DROP EVENT TRIGGER %I', {{trigger}});
    END IF;
END
$fn$;
-- +goose StatementEnd

-- +goose Down
-- The event trigger goes with its function (dropping it needs the
-- superuser who made it, as dropping the function would).
SELECT {{schema}}.unwatch_ddl();
DROP FUNCTION IF EXISTS {{schema}}.unwatch_ddl();
DROP FUNCTION IF EXISTS {{schema}}.watch_ddl();
DROP FUNCTION IF EXISTS {{schema}}.has_ddl_trigger();
DROP FUNCTION IF EXISTS {{schema}}.notify_ddl();
