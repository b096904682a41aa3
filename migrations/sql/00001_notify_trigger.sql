-- Change notifications: the trigger function that watched tables run after
-- every INSERT, UPDATE, DELETE (MERGE, COPY) or TRUNCATE statement, and the
-- helpers it uses to name a table and send the notification.
--
-- This file is a template. Before goose reads it, package migrations
-- replaces {{schema}} with the quoted schema name (default "dogpile"),
-- {{channel}} with the channel name as a string literal (default
-- 'dogpile_invalidate') and {{trigger}} with the trigger name as a string
-- literal (default 'dogpile_notify'). Every name is checked to be a plain
-- identifier first. Calls of built-in functions are qualified with
-- pg_catalog, so that no search_path changes what they mean.
--
-- The schema is created before goose runs (it holds goose's version table,
-- dogpile_schema_migrations), so rolling this migration back leaves it.
-- This migration does not create it again with CREATE SCHEMA IF NOT EXISTS:
-- that statement needs the CREATE privilege on the database even when the
-- schema exists, and so would fail for a role that owns a schema made for
-- it but may not create schemas.

-- +goose Up

-- channel() names the NOTIFY channel, fixed when the schema is installed.
-- Listeners may ask the database for it: SELECT dogpile.channel().
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION {{schema}}.channel() RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$ SELECT {{channel}}::text $fn$;
-- +goose StatementEnd

-- quote_tag_part(part) writes one part of a table's name as package
-- sqlanalysis writes it in a cache tag (sqlanalysis.Table.String): as is
-- when it is a plain lower-case identifier, else double-quoted with inner
-- double quotes doubled. Regular-expression ranges compare code points, and
-- COLLATE "C" keeps the database's collation out of it.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION {{schema}}.quote_tag_part(part text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$
    SELECT CASE
        WHEN part COLLATE "C" ~ '^[_a-z][_a-z0-9$]*$' THEN part
        ELSE '"' || pg_catalog.replace(part, '"', '""') || '"'
    END
$fn$;
-- +goose StatementEnd

-- table_tag(schema, table) is the payload that names a table: its schema and
-- name as PostgreSQL stores them, each written by quote_tag_part, joined by a
-- dot. It depends on nothing but the two names, so every statement on one
-- table sends the same payload, and PostgreSQL, which delivers identical
-- notifications of one transaction once, sends one per table per
-- transaction.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION {{schema}}.table_tag(schema_name text, table_name text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$
    SELECT {{schema}}.quote_tag_part(schema_name) || '.' || {{schema}}.quote_tag_part(table_name)
$fn$;
-- +goose StatementEnd

-- table_tag(rel) is table_tag(schema, table) for a relation.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION {{schema}}.table_tag(rel regclass) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE
AS $fn$
    SELECT {{schema}}.table_tag(n.nspname, c.relname)
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = rel
$fn$;
-- +goose StatementEnd

-- notify_payload(payload) sends one notification on the channel. NOTIFY
-- rejects payloads of 8000 bytes or more. A table's tag is at most
-- 2 * (2 * 63 + 2) + 1 = 257 bytes with PostgreSQL's default NAMEDATALEN,
-- but a server built with a larger one could name longer tables: such a
-- payload, or a missing one, becomes '*', "every table may have changed",
-- which is never wrong for a cache, only costly.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION {{schema}}.notify_payload(payload text) RETURNS void
LANGUAGE plpgsql VOLATILE
AS $fn$
BEGIN
    IF payload IS NULL OR pg_catalog.octet_length(payload) >= 8000 THEN
        payload := '*';
    END IF;
    PERFORM pg_catalog.pg_notify({{schema}}.channel(), payload);
END
$fn$;
-- +goose StatementEnd

-- notify_table(rel) notifies rel's tag and, when rel is in a partition tree,
-- the tags of its ancestors and descendants: a write to a partition changes
-- what its ancestors return, a write through a partitioned table changes its
-- partitions, and PostgreSQL fires only the statement triggers of the table
-- the statement named. For a table outside any partition tree both lists are
-- empty.
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

-- notify_trigger() is the trigger function watch() attaches, as a
-- statement-level AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE trigger:
-- one call per statement, however many rows, and NOTIFY is sent at commit
-- and dropped on rollback, so listeners hear exactly of committed writes.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION {{schema}}.notify_trigger() RETURNS trigger
LANGUAGE plpgsql VOLATILE
AS $fn$
BEGIN
    IF TG_LEVEL <> 'STATEMENT' OR TG_WHEN <> 'AFTER' THEN
        RAISE EXCEPTION 'dogpile: trigger % on % must be AFTER ... FOR EACH STATEMENT, not % ... FOR EACH %',
            TG_NAME, TG_RELID::regclass, TG_WHEN, TG_LEVEL
            USING ERRCODE = 'triggered_action_exception',
                  HINT = 'Attach it with dogpile''s watch(regclass) function.';
    END IF;
    PERFORM {{schema}}.notify_table(TG_RELID);
    RETURN NULL;
END
$fn$;
-- +goose StatementEnd

-- The trigger runs as whoever writes to a watched table, and that role
-- needs to reach these functions, or its write fails. Nothing here gives
-- more than any role has: pg_notify is open to all, and table_tag reads
-- public catalogs. Granted explicitly, in case default privileges revoke
-- EXECUTE from PUBLIC.
GRANT USAGE ON SCHEMA {{schema}} TO PUBLIC;
GRANT EXECUTE ON FUNCTION
    {{schema}}.channel(),
    {{schema}}.quote_tag_part(text),
    {{schema}}.table_tag(text, text),
    {{schema}}.table_tag(regclass),
    {{schema}}.notify_payload(text),
    {{schema}}.notify_table(regclass),
    {{schema}}.notify_trigger()
    TO PUBLIC;

-- +goose Down
-- Dropping the trigger function drops, through CASCADE, the triggers that
-- call it: rolling this migration back unwatches every watched table.
DROP FUNCTION IF EXISTS {{schema}}.notify_trigger() CASCADE;
DROP FUNCTION IF EXISTS {{schema}}.notify_table(regclass);
DROP FUNCTION IF EXISTS {{schema}}.notify_payload(text);
DROP FUNCTION IF EXISTS {{schema}}.table_tag(regclass);
DROP FUNCTION IF EXISTS {{schema}}.table_tag(text, text);
DROP FUNCTION IF EXISTS {{schema}}.quote_tag_part(text);
DROP FUNCTION IF EXISTS {{schema}}.channel();
REVOKE USAGE ON SCHEMA {{schema}} FROM PUBLIC;
