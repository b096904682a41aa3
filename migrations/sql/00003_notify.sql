-- Notifications sent by hand, for writes no trigger saw: a bulk load with
-- triggers disabled, a restore, a table nobody watched, a change made
-- through logical replication (whose apply worker fires no statement
-- triggers but TRUNCATE's).
--
-- A template, like every file here: see 00001_notify_trigger.sql.

-- +goose Up

-- notify_all() tells every listener that every table may have changed: the
-- payload '*', which no table's tag can be (a tag always has a dot, and a
-- table named * is written "*").
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION {{schema}}.notify_all() RETURNS void
LANGUAGE plpgsql VOLATILE
AS $fn$
BEGIN
    PERFORM {{schema}}.notify_payload('*');
END
$fn$;
-- +goose StatementEnd

-- notify(tables...) sends, for each table, what its trigger would have sent,
-- whether or not it is watched.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION {{schema}}.notify(VARIADIC tables regclass[]) RETURNS void
LANGUAGE plpgsql VOLATILE
AS $fn$
DECLARE
    rel regclass;
BEGIN
    FOREACH rel IN ARRAY tables LOOP
        PERFORM {{schema}}.notify_table(rel);
    END LOOP;
END
$fn$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION IF EXISTS {{schema}}.notify(regclass[]);
DROP FUNCTION IF EXISTS {{schema}}.notify_all();
