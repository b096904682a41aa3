-- GRANT and REVOKE on a table change what a role may read, and a cached
-- result keyed by role (cachedsql keeps current_user in its keys) must not
-- outlive them: watch_ddl()'s event trigger now answers them too, with
-- notify_all(). Event triggers see them for the database's own objects
-- (tables, views, schemas); role membership and role attributes (GRANT
-- role TO role, ALTER ROLE … BYPASSRLS) are cluster-wide and fire none.
--
-- An event trigger's tags are fixed when it is made, and only a superuser
-- may make one, so Up (which the program's own role can run) leaves an
-- installed trigger as it is: watch_ddl(), run again (dogpile-migrate
-- watch-ddl, Migrator.WatchSchemaChanges), replaces one made before this
-- version.
--
-- A template, like every file here: see 00001_notify_trigger.sql.

-- +goose Up
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION {{schema}}.watch_ddl() RETURNS void
LANGUAGE plpgsql VOLATILE
AS $fn$
BEGIN
    IF {{schema}}.has_ddl_trigger() THEN
        IF EXISTS (
            SELECT FROM pg_catalog.pg_event_trigger e
            WHERE e.evtname = {{trigger}} AND e.evttags @> ARRAY['GRANT', 'REVOKE']
        ) THEN
            RETURN;
        END IF;
        -- Made before this version: without GRANT and REVOKE.
        EXECUTE pg_catalog.format('DROP EVENT TRIGGER %I', {{trigger}});
    END IF;
    EXECUTE pg_catalog.format(
        'CREATE EVENT TRIGGER %I ON ddl_command_end WHEN TAG IN ('
        '''ALTER TABLE'', ''DROP TABLE'', ''ALTER VIEW'', ''CREATE VIEW'', ''DROP VIEW'', '
        '''ALTER MATERIALIZED VIEW'', ''DROP MATERIALIZED VIEW'', ''REFRESH MATERIALIZED VIEW'', '
        '''ALTER FOREIGN TABLE'', ''DROP FOREIGN TABLE'', ''ALTER SCHEMA'', ''DROP SCHEMA'', '
        '''CREATE RULE'', ''DROP RULE'', ''CREATE POLICY'', ''ALTER POLICY'', ''DROP POLICY'', '
        '''GRANT'', ''REVOKE'') '
        'EXECUTE FUNCTION %s', {{trigger}}, '{{schema}}.notify_ddl()');
END
$fn$;
-- +goose StatementEnd

-- +goose Down
-- watch_ddl() as migration 5 made it. An installed trigger is left as it
-- is: it still calls notify_ddl(), and Down of migration 5 drops it.
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
