-- Watching tables: attach the notify_trigger() of migration 1 to a table,
-- detach it, list the tables that have it.
--
-- A template, like every file here: see 00001_notify_trigger.sql.
--
-- The trigger on each table is named {{trigger}} (the schema's name followed
-- by _notify), so that dogpile installed in two schemas of one database can
-- watch the same table twice without a clash. It is ENABLE ALWAYS: it fires
-- even in sessions with session_replication_role = replica (bulk loaders,
-- logical replication's TRUNCATE), because a cache must hear of every write.

-- +goose Up

-- watch_relation(rel) attaches the trigger to one relation, or makes sure
-- the one it has fires always. Doing nothing when it is already there keeps
-- watch() free of locks on a busy table; otherwise it locks the table
-- (CREATE TRIGGER would take the same lock) and looks again, so two sessions
-- watching one table at once do not both create the trigger.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION {{schema}}.watch_relation(rel regclass) RETURNS void
LANGUAGE plpgsql VOLATILE
AS $fn$
DECLARE
    fn oid;
    enabled "char";
BEGIN
    SELECT t.tgfoid, t.tgenabled INTO fn, enabled
    FROM pg_catalog.pg_trigger t
    WHERE t.tgrelid = rel AND t.tgname = {{trigger}};
    IF FOUND AND fn = '{{schema}}.notify_trigger()'::regprocedure AND enabled = 'A' THEN
        RETURN;
    END IF;

    EXECUTE pg_catalog.format('LOCK TABLE ONLY %s IN SHARE ROW EXCLUSIVE MODE', rel);
    SELECT t.tgfoid INTO fn
    FROM pg_catalog.pg_trigger t
    WHERE t.tgrelid = rel AND t.tgname = {{trigger}};
    IF NOT FOUND THEN
        EXECUTE pg_catalog.format(
            'CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s '
            'FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.notify_trigger()',
            {{trigger}}, rel);
    ELSIF fn <> '{{schema}}.notify_trigger()'::regprocedure THEN
        RAISE EXCEPTION 'dogpile: table % already has a trigger named %, and it does not call %',
            rel, {{trigger}}, '{{schema}}.notify_trigger()'::regprocedure
            USING ERRCODE = 'duplicate_object',
                  HINT = 'Rename that trigger, or install dogpile in another schema.';
    END IF;
    EXECUTE pg_catalog.format('ALTER TABLE ONLY %s ENABLE ALWAYS TRIGGER %I', rel, {{trigger}});
END
$fn$;
-- +goose StatementEnd

-- watch(rel) makes every committed write to rel send a notification naming
-- it. It is idempotent. For a partition tree it watches rel, its
-- descendants (writes to a partition fire only that partition's statement
-- triggers) and its ancestors (writes through them fire only theirs).
-- Partitions created or attached later are not watched until watch() runs
-- again. Only tables and partitioned tables can be watched.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION {{schema}}.watch(rel regclass) RETURNS void
LANGUAGE plpgsql VOLATILE
AS $fn$
DECLARE
    kind "char";
    member regclass;
BEGIN
    SELECT c.relkind INTO kind FROM pg_catalog.pg_class c WHERE c.oid = rel;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'dogpile: cannot watch relation with OID %: it does not exist', rel::oid
            USING ERRCODE = 'undefined_table';
    END IF;
    IF kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'dogpile: cannot watch %: it is a %, and only tables send change notifications',
            rel,
            CASE kind
                WHEN 'v' THEN 'view'
                WHEN 'm' THEN 'materialized view'
                WHEN 'f' THEN 'foreign table'
                WHEN 'S' THEN 'sequence'
                WHEN 'i' THEN 'index'
                WHEN 'I' THEN 'partitioned index'
                WHEN 'c' THEN 'composite type'
                WHEN 't' THEN 'TOAST table'
                ELSE 'relation of kind ' || kind::text
            END
            USING ERRCODE = 'wrong_object_type',
                  HINT = 'Watch the tables it is built from.';
    END IF;
    -- Ordered by OID, so that two sessions watching one tree lock its
    -- members in the same order.
    FOR member IN
        SELECT m.relid FROM (
            SELECT rel AS relid
            UNION SELECT a.relid FROM pg_catalog.pg_partition_ancestors(rel) AS a
            UNION SELECT t.relid FROM pg_catalog.pg_partition_tree(rel) AS t
        ) AS m
        ORDER BY m.relid::oid
    LOOP
        PERFORM {{schema}}.watch_relation(member);
    END LOOP;
END
$fn$;
-- +goose StatementEnd

-- unwatch(rel) removes the trigger from rel and its descendants; it is
-- idempotent. Ancestors keep theirs: another of their partitions may be
-- watched and rely on it. A trigger of the same name that does not call
-- notify_trigger() is not dogpile's and is left alone.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION {{schema}}.unwatch(rel regclass) RETURNS void
LANGUAGE plpgsql VOLATILE
AS $fn$
DECLARE
    member regclass;
BEGIN
    FOR member IN
        SELECT m.relid FROM (
            SELECT rel AS relid
            UNION SELECT t.relid FROM pg_catalog.pg_partition_tree(rel) AS t
        ) AS m
        ORDER BY m.relid::oid
    LOOP
        IF EXISTS (
            SELECT FROM pg_catalog.pg_trigger t
            WHERE t.tgrelid = member AND t.tgname = {{trigger}}
              AND t.tgfoid = '{{schema}}.notify_trigger()'::regprocedure
        ) THEN
            EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS %I ON %s', {{trigger}}, member);
        END IF;
    END LOOP;
END
$fn$;
-- +goose StatementEnd

-- watched() lists the relations whose writes send notifications: those with
-- the trigger, enabled (ALWAYS, or ORIGIN as ALTER TABLE ... ENABLE TRIGGER
-- ALL leaves it after a data-only restore), by tag.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION {{schema}}.watched() RETURNS TABLE (tag text, relation regclass)
LANGUAGE sql STABLE
AS $fn$
    SELECT w.tag, w.relation FROM (
        SELECT {{schema}}.table_tag(t.tgrelid::regclass) AS tag, t.tgrelid::regclass AS relation
        FROM pg_catalog.pg_trigger t
        WHERE t.tgname = {{trigger}}
          AND t.tgfoid = '{{schema}}.notify_trigger()'::regprocedure
          AND t.tgenabled IN ('A', 'O')
    ) AS w
    ORDER BY w.tag COLLATE "C"
$fn$;
-- +goose StatementEnd

-- +goose Down
-- The triggers stay: they belong to migration 1's function, and rolling
-- that back removes them.
DROP FUNCTION IF EXISTS {{schema}}.watched();
DROP FUNCTION IF EXISTS {{schema}}.unwatch(regclass);
DROP FUNCTION IF EXISTS {{schema}}.watch(regclass);
DROP FUNCTION IF EXISTS {{schema}}.watch_relation(regclass);
