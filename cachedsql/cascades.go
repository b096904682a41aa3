package cachedsql

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/dogpile-go/dogpile/cachedsql/sqlanalysis"
)

// WithCascades names the tables a write to a table writes as well, which
// the analyzer cannot see in the SQL: rows a foreign key's ON DELETE or
// ON UPDATE CASCADE, SET NULL or SET DEFAULT changes, and tables a trigger
// or a rule writes. Each key is a table and its value the tables its
// writes reach, named as [WithViews] takes them. A write to a key
// invalidates the reads of its tables too, and of the tables those reach
// in turn (and of their partitions, when WithViews lists them); reads are
// not changed, so a write to a referencing table leaves the reads of the
// table it references cached.
//
// [PostgresCascades] reads the foreign keys' part from a PostgreSQL
// catalog, and [SQLiteCascades] from a SQLite schema; triggers and rules
// are for the caller to add:
//
//	cascades, err := cachedsql.PostgresCascades(ctx, sqlDB)
//	cascades[`"public"."orders"`] = append(cascades[`"public"."orders"`], `"public"."order_totals"`) // a trigger's
//	db, err := cachedsql.Open("pgx", dsn, cachedsql.WithCascades(cascades))
//
// A name that is not a table name makes Open fail with [ErrBadOption].
func WithCascades(cascades map[string][]string) Option {
	cascades = cloneRelations(cascades)
	return func(s *settings) { s.cascades = cascades }
}

// writeTags returns the sorted tags a write to tables bumps: theirs, those
// of the relations WithViews puts behind them, and those their writes reach
// by WithCascades, followed through (a cycle, such as a table whose
// foreign key references itself, tolerated).
func (e *engine) writeTags(tables []sqlanalysis.Table) []string {
	out := e.tableTags(tables)
	if len(e.cascades) == 0 {
		return out
	}
	seen := make(map[string]bool, len(out))
	for _, t := range out {
		seen[t] = true
	}
	todo := slices.Clone(out)
	for len(todo) > 0 {
		t := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		for _, reached := range e.cascades[t] {
			for _, u := range append([]string{reached}, e.views[reached]...) {
				if !seen[u] {
					seen[u] = true
					out = append(out, u)
					todo = append(todo, u)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// postgresCascadesQuery lists, for every foreign key outside the system
// schemas whose action on delete or on update writes the referencing table
// (CASCADE, SET NULL, SET DEFAULT), the referenced table and the
// referencing one. A foreign key on a partitioned table has a copy on each
// partition, so a write to one partition reaches the referencing table too.
const postgresCascadesQuery = `
SELECT DISTINCT pn.nspname, p.relname, cn.nspname, c.relname
FROM pg_catalog.pg_constraint k
JOIN pg_catalog.pg_class p ON p.oid = k.confrelid
JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace
WHERE k.contype = 'f'
	AND (k.confdeltype IN ('c', 'n', 'd') OR k.confupdtype IN ('c', 'n', 'd'))
	AND pn.nspname NOT IN ('pg_catalog', 'information_schema')
	AND pn.nspname NOT LIKE 'pg\_temp\_%'
`

// PostgresCascades reads from a PostgreSQL database's catalog, for each
// table that a foreign key with an ON DELETE or ON UPDATE action of
// CASCADE, SET NULL or SET DEFAULT references, the tables holding such
// keys, as [WithCascades] takes them: every name schema-qualified and
// quoted. An ON UPDATE action counts for any update of the referenced
// table, whichever columns it sets. Call it again and reopen the DB after
// adding or dropping such a key. q is any handle that runs a query.
func PostgresCascades(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}) (map[string][]string, error) {
	return catalogMap(ctx, q, postgresCascadesQuery, "foreign keys")
}

// sqliteCascadesQuery lists every foreign key of the schema's tables with
// its actions.
const sqliteCascadesQuery = `
SELECT m.name, f."table", f.on_delete, f.on_update
FROM sqlite_master m, pragma_foreign_key_list(m.name) f
WHERE m.type = 'table'
`

// SQLiteCascades reads from a SQLite database's schema, for each table that
// a foreign key with an ON DELETE or ON UPDATE action of CASCADE, SET NULL
// or SET DEFAULT references, the tables holding such keys, as
// [WithCascades] takes them. Names are quoted and unqualified, and a table
// named with capitals is entered under its name in lower case as well, as
// [SQLiteViews] does. SQLite runs these actions only on
// connections with PRAGMA foreign_keys on.
func SQLiteCascades(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}) (map[string][]string, error) {
	rows, err := q.QueryContext(ctx, sqliteCascadesQuery)
	if err != nil {
		return nil, fmt.Errorf("cachedsql: reading the foreign keys from sqlite_master: %w", err)
	}
	defer rows.Close()
	cascades := map[string][]string{}
	for rows.Next() {
		var table, referenced, onDelete, onUpdate string
		if err := rows.Scan(&table, &referenced, &onDelete, &onUpdate); err != nil {
			return nil, fmt.Errorf("cachedsql: reading the foreign keys from sqlite_master: %w", err)
		}
		if !sqliteWrites(onDelete) && !sqliteWrites(onUpdate) {
			continue
		}
		for _, name := range []string{referenced, strings.ToLower(referenced)} {
			key := sqlanalysis.Table{Name: name}.Quoted()
			for _, r := range []string{table, strings.ToLower(table)} {
				if reached := (sqlanalysis.Table{Name: r}).Quoted(); !slices.Contains(cascades[key], reached) {
					cascades[key] = append(cascades[key], reached)
				}
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cachedsql: reading the foreign keys from sqlite_master: %w", err)
	}
	for _, reached := range cascades {
		slices.Sort(reached)
	}
	return cascades, nil
}

// sqliteWrites reports whether a foreign key action, as
// pragma_foreign_key_list spells it, writes the referencing table.
func sqliteWrites(action string) bool {
	switch strings.ToUpper(action) {
	case "CASCADE", "SET NULL", "SET DEFAULT":
		return true
	}
	return false
}
