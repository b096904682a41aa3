package cachedsql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/dogpile-go/dogpile/cachedsql/sqlanalysis"
)

// WithViews names the tables behind views, so that a read of a view is
// tagged with them too and a write to one of them invalidates it (the
// analyzer sees only the view's name in the SQL). Each key is a view and
// its value the relations its definition reads, named as SQL writes them
// ("active_users", "sales.orders", `"Odd"."Name"`; unqualified names are in
// the default schema). A relation that is itself a view brings its own
// tables along, however deep the nesting. A write to a view (an updatable
// view's INSERT, UPDATE or DELETE) invalidates the reads of its tables.
//
// The same map serves partitioned and inherited tables: a read of a parent
// returns its children's rows, and a write to a parent can land in any of
// them, so a parent is listed with its partitions or children behind it
// (the analyzer sees only the name the SQL uses). Without the map, a write
// through a partition does not invalidate reads of its partitioned table,
// nor the reverse.
//
// [PostgresViews] reads the whole map from a PostgreSQL catalog, views and
// inheritance both, and [SQLiteViews] from a SQLite schema:
//
//	views, err := cachedsql.PostgresViews(ctx, sqlDB) // any handle on the database
//	db, err := cachedsql.Open("pgx", dsn, cachedsql.WithViews(views))
//
// A name that is not a table name makes Open fail with [ErrBadOption] (and
// a DB made by NewDb fail from its first use). The analyzer sees a view's
// name, not its definition: a view over now() or random() is cached like a
// table, so read it with [SkipCache].
func WithViews(views map[string][]string) Option {
	views = cloneRelations(views)
	return func(s *settings) { s.views = views }
}

// cloneRelations copies a map of relations to relations, so that the
// caller may change its own afterwards.
func cloneRelations(m map[string][]string) map[string][]string {
	m = maps.Clone(m)
	for k, v := range m {
		m[k] = slices.Clone(v)
	}
	return m
}

// viewTags resolves WithViews' map to tags: each view's tag to the sorted
// tags of every relation behind it, nested views followed through (and a
// cycle, which PostgreSQL never makes, tolerated).
func (e *engine) viewTags(views map[string][]string) (map[string][]string, error) {
	direct, err := e.relationTags(views, "WithViews", "a view", "a table of view")
	if err != nil {
		return nil, err
	}
	out := make(map[string][]string, len(direct))
	for view := range direct {
		seen := map[string]bool{view: true}
		var bases []string
		todo := slices.Clone(direct[view])
		for len(todo) > 0 {
			t := todo[len(todo)-1]
			todo = todo[:len(todo)-1]
			if seen[t] {
				continue
			}
			seen[t] = true
			bases = append(bases, t)
			todo = append(todo, direct[t]...)
		}
		slices.Sort(bases)
		out[view] = bases
	}
	return out, nil
}

// relationTags turns a map of relation names to relation names (WithViews',
// WithCascades') into one of tags, and a name that is not a table name
// into an error saying which option and which role it had.
func (e *engine) relationTags(m map[string][]string, option, keyRole, valueRole string) (map[string][]string, error) {
	out := make(map[string][]string, len(m))
	for key, tables := range m {
		kt, err := parseTable(key)
		if err != nil {
			return nil, fmt.Errorf("%w (%s: %s)", err, option, keyRole)
		}
		tag := e.tableTag(kt)
		for _, table := range tables {
			t, err := parseTable(table)
			if err != nil {
				return nil, fmt.Errorf("%w (%s: %s %q)", err, option, valueRole, key)
			}
			out[tag] = append(out[tag], e.tableTag(t))
		}
	}
	return out, nil
}

// postgresViewsQuery lists, for every view outside the system schemas, the
// relations its definition reads: the pg_class entries its rewrite rule
// depends on, but for the view itself. Materialized views are left out:
// their rows change when they are refreshed, not when their tables are
// written. Then, for every partitioned or inherited table, its direct
// partitions or children (pg_inherits; WithViews follows them down).
const postgresViewsQuery = `
SELECT DISTINCT vn.nspname, v.relname, bn.nspname, b.relname
FROM pg_catalog.pg_class v
JOIN pg_catalog.pg_namespace vn ON vn.oid = v.relnamespace
JOIN pg_catalog.pg_rewrite r ON r.ev_class = v.oid
JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass
	AND d.objid = r.oid
	AND d.refclassid = 'pg_catalog.pg_class'::regclass
	AND d.refobjid <> v.oid
JOIN pg_catalog.pg_class b ON b.oid = d.refobjid
JOIN pg_catalog.pg_namespace bn ON bn.oid = b.relnamespace
WHERE v.relkind = 'v'
	AND vn.nspname NOT IN ('pg_catalog', 'information_schema')
	AND vn.nspname NOT LIKE 'pg\_toast%'
	AND vn.nspname NOT LIKE 'pg\_temp\_%'
UNION
SELECT pn.nspname, p.relname, cn.nspname, c.relname
FROM pg_catalog.pg_inherits i
JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace
WHERE p.relkind IN ('r', 'p', 'f')
	AND pn.nspname NOT IN ('pg_catalog', 'information_schema')
	AND pn.nspname NOT LIKE 'pg\_temp\_%'
`

// PostgresViews reads from a PostgreSQL database's catalog the relations
// behind each of its views, and the partitions or inheritance children of
// each of its tables, as [WithViews] takes them: every name
// schema-qualified and quoted. Views over views and partitions of
// partitions are listed as they are declared; WithViews follows them
// through. Views in the system schemas and temporary ones are left out,
// and so are materialized views (their rows change when they are
// refreshed, which is a write to them). Call it again
// and reopen the DB after creating or replacing a view, or attaching or
// detaching a partition. q is any handle that runs a query: *sql.DB,
// *sql.Conn, *sql.Tx, sqlx's, a DB's Inner().
func PostgresViews(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}) (map[string][]string, error) {
	return catalogMap(ctx, q, postgresViewsQuery, "views")
}

// catalogMap runs a catalog query whose rows each name two relations, by
// schema and name, and maps each first relation, quoted, to the second
// ones, sorted; what names the rows in errors.
func catalogMap(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}, query, what string) (map[string][]string, error) {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("cachedsql: reading the %s from the catalog: %w", what, err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var ks, kn, vs, vn string
		if err := rows.Scan(&ks, &kn, &vs, &vn); err != nil {
			return nil, fmt.Errorf("cachedsql: reading the %s from the catalog: %w", what, err)
		}
		k := sqlanalysis.Table{Schema: ks, Name: kn}.Quoted()
		out[k] = append(out[k], sqlanalysis.Table{Schema: vs, Name: vn}.Quoted())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cachedsql: reading the %s from the catalog: %w", what, err)
	}
	for _, vs := range out {
		slices.Sort(vs) // byte order, whatever the database's collation
	}
	return out, nil
}

// SQLiteViews reads from a SQLite database's schema table the relations
// behind each of its views, as [WithViews] takes them. SQLite keeps a
// view's definition as its CREATE VIEW text, which package sqlanalysis
// reads. A view whose text it cannot read (SQLite-only syntax, say) is
// left out and named in the error, which comes with the map of the
// others. Names are quoted, and unqualified as the definitions write them
// (main, SQLite's own schema, included), so they are tagged in the DB's
// default schema, as the queries naming them unqualified are. SQLite
// matches names whatever their case, and the analyzer folds unquoted ones
// to lower case, so a view named with capitals is entered under its name
// in lower case as well.
// Temporary views are left out. Call it again and reopen the DB after
// creating or replacing a view. q is any handle that runs a query.
func SQLiteViews(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}) (map[string][]string, error) {
	rows, err := q.QueryContext(ctx, "SELECT name, sql FROM sqlite_master WHERE type = 'view'")
	if err != nil {
		return nil, fmt.Errorf("cachedsql: reading the views from sqlite_master: %w", err)
	}
	defer rows.Close()
	views := map[string][]string{}
	var unread []error
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			return nil, fmt.Errorf("cachedsql: reading the views from sqlite_master: %w", err)
		}
		a, err := sqlanalysis.Analyze(def)
		if err != nil {
			unread = append(unread, fmt.Errorf("view %q: %w", name, err))
			continue
		}
		var tables []string
		for _, t := range a.Reads {
			if t.Catalog == "" && t.Schema == "main" {
				t.Schema = "" // SQLite's own schema: as the queries name it, unqualified
			}
			t.Catalog = ""
			tables = append(tables, t.Quoted())
		}
		if len(tables) > 0 {
			slices.Sort(tables)
			tables = slices.Compact(tables)
			views[sqlanalysis.Table{Name: name}.Quoted()] = tables
			views[sqlanalysis.Table{Name: strings.ToLower(name)}.Quoted()] = tables
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cachedsql: reading the views from sqlite_master: %w", err)
	}
	if len(unread) > 0 {
		return views, fmt.Errorf("cachedsql: SQLiteViews could not read %d views: %w", len(unread), errors.Join(unread...))
	}
	return views, nil
}
