-- GRANT and REVOKE on a table change what a role may read, and a cached
-- result keyed by role (cachedsql keeps current_user in its keys) must not
-- outlive them: watch_ddl()'s event trigger now answers them too, with
-- notify_all(); and DROP OWNED BY, which revokes every privilege granted
-- to a role in the database (and drops its tables) under a tag of its own.
-- Event triggers see them for the database's own objects (tables, views,
-- schemas); role membership and role attributes (GRANT role TO role,
-- ALTER ROLE … BYPASSRLS) are cluster-wide and fire none, and REASSIGN
-- OWNED fires none either.
--
-- An event trigger's tags are fixed when it is made, and only a superuser
-- may make one, so Up (which the program's own role can run) leaves an
-- installed trigger as it is: watch_ddl(), run again (dogpile-migrate
-- watch-ddl, Migrator.WatchSchemaChanges), replaces one made before this
-- version.
--
-- A template, like every file here: see 00001_notify_trigger.sql.

-- +goose Up
-- watch_ddl() keeps an installed trigger only when it is dogpile's,
-- enabled and answers every tag below: one made before this version is
-- replaced, and so is one disabled (ALTER EVENT TRIGGER ... DISABLE) or
-- set to fire on replicas only (... ENABLE REPLICA), which would otherwise
-- stay silent for the program's writes while watch_ddl() returned as if
-- it watched.
-- Dropping and creating it in one transaction leaves no moment without it.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION {{schema}}.watch_ddl() RETURNS void
LANGUAGE plpgsql VOLATILE
AS $fn$
DECLARE
    tags text[] := ARRAY[
        'ALTER TABLE', 'DROP TABLE', 'ALTER VIEW', 'CREATE VIEW', 'DROP VIEW',
        'ALTER MATERIALIZED VIEW', 'DROP MATERIALIZED VIEW', 'REFRESH MATERIALIZED VIEW',
        'ALTER FOREIGN TABLE', 'DROP FOREIGN TABLE', 'ALTER SCHEMA', 'DROP SCHEMA',
        'CREATE RULE', 'DROP RULE', 'CREATE POLICY', 'ALTER POLICY', 'DROP POLICY',
        'GRANT', 'REVOKE', 'DROP OWNED'];
BEGIN
    IF EXISTS (
        SELECT FROM pg_catalog.pg_event_trigger e
        WHERE e.evtname = {{trigger}} AND e.evtfoid = '{{schema}}.notify_ddl()'::regprocedure
          AND e.evtevent = 'ddl_command_end' AND e.evtenabled IN ('O', 'A') AND e.evttags @> tags
    ) THEN
        RETURN;
    END IF;
    IF {{schema}}.has_ddl_trigger() THEN
        EXECUTE pg_catalog.format('DROP EVENT TRIGGER %I', {{trigger}});
    END IF;
    EXECUTE pg_catalog.format(
        'CREATE EVENT TRIGGER %I ON ddl_command_end WHEN TAG IN (%s) EXECUTE FUNCTION %s',
        {{trigger}},
        (SELECT pg_catalog.string_agg(pg_catalog.quote_literal(t), ', ') FROM pg_catalog.unnest(tags) AS t),
        '{{schema}}.notify_ddl()');
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
