-- Tables related by inheritance (INHERITS), not only by partitioning.
-- A read of a parent returns its children's rows, and an UPDATE, DELETE or
-- TRUNCATE of the parent changes them, while PostgreSQL fires only the
-- statement triggers of the table a statement names: so notify_table must
-- notify a table's ancestors and descendants, and watch must watch them,
-- along pg_inherits, which holds partitions and inheritance children alike.
-- The functions of migrations 1 and 2 followed partition trees only
-- (pg_partition_ancestors, pg_partition_tree), which ignore INHERITS.
--
-- A template, like every file here: see 00001_notify_trigger.sql.

-- +goose Up

-- related(rel) is rel with its ancestors and descendants, by inheritance
-- or partitioning, ordered by OID (so that two sessions lock a tree's
-- members in the same order).
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION {{schema}}.related(rel regclass) RETURNS SETOF regclass
LANGUAGE sql STABLE
AS $fn$
    WITH RECURSIVE up(relid) AS (
        SELECT rel::oid
        UNION SELECT i.inhparent FROM pg_catalog.pg_inherits i JOIN up ON i.inhrelid = up.relid
    ), down(relid) AS (
        SELECT rel::oid
        UNION SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN down ON i.inhparent = down.relid
    )
    SELECT r.relid::regclass FROM (SELECT relid FROM up UNION SELECT relid FROM down) AS r
    ORDER BY r.relid
$fn$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION {{schema}}.notify_table(rel regclass) RETURNS void
LANGUAGE plpgsql VOLATILE
AS $fn$
DECLARE
    related regclass;
BEGIN
    PERFORM {{schema}}.notify_payload({{schema}}.table_tag(rel));
    FOR related IN SELECT r FROM {{schema}}.related(rel) AS r LOOP
        IF related <> rel THEN
            PERFORM {{schema}}.notify_payload({{schema}}.table_tag(related));
        END IF;
    END LOOP;
END
$fn$;
-- +goose StatementEnd

-- watch(rel) as in migration 2, over every related table.
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
    FOR member IN SELECT r FROM {{schema}}.related(rel) AS r LOOP
        PERFORM {{schema}}.watch_relation(member);
    END LOOP;
END
$fn$;
-- +goose StatementEnd

-- unwatch(rel) as in migration 2 (rel and its descendants), descendants by
-- inheritance too.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION {{schema}}.unwatch(rel regclass) RETURNS void
LANGUAGE plpgsql VOLATILE
AS $fn$
DECLARE
    member regclass;
BEGIN
    FOR member IN
        WITH RECURSIVE down(relid) AS (
            SELECT rel::oid
            UNION SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN down ON i.inhparent = down.relid
        )
        SELECT d.relid::regclass FROM down AS d ORDER BY d.relid
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

-- +goose Down
-- The definitions of migrations 1 and 2, which follow partition trees only.

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION {{schema}}.notify_table(rel regclass) RETURNS void
LANGUAGE plpgsql VOLATILE
AS $fn$
DECLARE
    related regclass;
BEGIN
    PERFORM {{schema}}.notify_payload({{schema}}.table_tag(rel));
    FOR related IN
        SELECT a.relid FROM pg_catalog.pg_partition_ancestors(rel) AS a
        UNION
        SELECT t.relid FROM pg_catalog.pg_partition_tree(rel) AS t
    LOOP
        IF related <> rel THEN
            PERFORM {{schema}}.notify_payload({{schema}}.table_tag(related));
        END IF;
    END LOOP;
END
$fn$;
-- +goose StatementEnd

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

DROP FUNCTION IF EXISTS {{schema}}.related(regclass);
