package sqlanalysis_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/dogpile-go/dogpile/cachedsql/sqlanalysis"
)

func tableNames(ts []sqlanalysis.Table) []string {
	out := []string{}
	for _, t := range ts {
		out = append(out, t.String())
	}
	return out
}

func list(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, " ")
}

// TestAnalyze covers each construct the cache depends on: what is read,
// what is written, whether it may be cached and why not.
func TestAnalyze(t *testing.T) {
	tests := []struct {
		name      string
		sql       string
		kind      sqlanalysis.Kind
		reads     string // space-separated Table.String()s
		writes    string
		cacheable bool
		unknown   bool
		reason    string // substring of Reason; "" when cacheable
	}{
		// Reads and their shapes.
		{name: "simple select", sql: "SELECT * FROM users WHERE id = $1", kind: sqlanalysis.Select, reads: "users", cacheable: true},
		{name: "schema qualified and folded", sql: `SELECT * FROM App.Users JOIN "App"."Users" ON true`, kind: sqlanalysis.Select, reads: `"App"."Users" app.users`, cacheable: true},
		{name: "three-part name", sql: "SELECT 1 FROM db.s.t", kind: sqlanalysis.Select, reads: "db.s.t", cacheable: true},
		{name: "quoted keyword table", sql: `SELECT * FROM "select" s, "user"`, kind: sqlanalysis.Select, reads: "select user", cacheable: true},
		{name: "all join kinds", sql: "SELECT * FROM a JOIN b ON true LEFT JOIN c USING (x) RIGHT OUTER JOIN d ON true FULL JOIN e ON true CROSS JOIN f NATURAL JOIN g", kind: sqlanalysis.Select, reads: "a b c d e f g", cacheable: true},
		{name: "parenthesized join", sql: "SELECT * FROM (a JOIN b ON a.x = b.x) j LEFT JOIN c ON c.y = j.y", kind: sqlanalysis.Select, reads: "a b c", cacheable: true},
		{name: "subquery in from", sql: "SELECT * FROM (SELECT * FROM inner_t) s", kind: sqlanalysis.Select, reads: "inner_t", cacheable: true},
		{name: "subquery in where", sql: "SELECT * FROM a WHERE x IN (SELECT x FROM b) AND EXISTS (SELECT 1 FROM c) AND y = ANY (SELECT y FROM d)", kind: sqlanalysis.Select, reads: "a b c d", cacheable: true},
		{name: "subquery in select list", sql: "SELECT (SELECT max(v) FROM b) FROM a", kind: sqlanalysis.Select, reads: "a b", cacheable: true},
		{name: "lateral", sql: "SELECT * FROM a, LATERAL (SELECT * FROM b WHERE b.a = a.id) l", kind: sqlanalysis.Select, reads: "a b", cacheable: true},
		{name: "union intersect except", sql: "SELECT x FROM a UNION SELECT x FROM b INTERSECT SELECT x FROM c EXCEPT SELECT x FROM d", kind: sqlanalysis.Select, reads: "a b c d", cacheable: true},
		{name: "values", sql: "VALUES (1), (2)", kind: sqlanalysis.Select, cacheable: true},
		{name: "table statement", sql: "TABLE s.t", kind: sqlanalysis.Select, reads: "s.t", cacheable: true},
		{name: "only and star", sql: "SELECT * FROM ONLY a, b *", kind: sqlanalysis.Select, reads: "a b", cacheable: true},
		{name: "aliases are not tables", sql: "SELECT x.* FROM a AS x JOIN b y ON y.id = x.id", kind: sqlanalysis.Select, reads: "a b", cacheable: true},
		{name: "table functions are not tables", sql: "SELECT * FROM generate_series(1, 3) g, unnest(ARRAY[1]) u, jsonb_to_recordset('[]') AS r(a int)", kind: sqlanalysis.Select, cacheable: true},
		{name: "cte is not a table", sql: "WITH t AS (SELECT * FROM base) SELECT * FROM t", kind: sqlanalysis.Select, reads: "base", cacheable: true},
		{name: "cte shadows a table", sql: "WITH users AS (SELECT 1) SELECT * FROM users", kind: sqlanalysis.Select, cacheable: true},
		{name: "qualified name is not the cte", sql: "WITH users AS (SELECT 1) SELECT * FROM public.users", kind: sqlanalysis.Select, reads: "public.users", cacheable: true},
		{name: "non-recursive cte body sees the table", sql: "WITH users AS (SELECT * FROM users) SELECT * FROM users", kind: sqlanalysis.Select, reads: "users", cacheable: true},
		{name: "recursive cte", sql: "WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT * FROM r", kind: sqlanalysis.Select, cacheable: true},
		{name: "cte scope ends with its query", sql: "SELECT * FROM (WITH x AS (SELECT 1) SELECT * FROM x) s, x", kind: sqlanalysis.Select, reads: "x", cacheable: true},
		{name: "comments and strings hide nothing", sql: "SELECT 'FROM a' /* FROM b */ FROM c -- FROM d", kind: sqlanalysis.Select, reads: "c", cacheable: true},

		// Reads that must not be cached.
		{name: "for update", sql: "SELECT * FROM jobs FOR UPDATE SKIP LOCKED", kind: sqlanalysis.Select, reads: "jobs", reason: "FOR UPDATE"},
		{name: "for no key update", sql: "SELECT * FROM a FOR NO KEY UPDATE", kind: sqlanalysis.Select, reads: "a", reason: "FOR NO KEY UPDATE"},
		{name: "for share", sql: "SELECT * FROM a FOR SHARE", kind: sqlanalysis.Select, reads: "a", reason: "FOR SHARE"},
		{name: "for key share", sql: "SELECT * FROM a FOR KEY SHARE", kind: sqlanalysis.Select, reads: "a", reason: "FOR KEY SHARE"},
		{name: "tablesample", sql: "SELECT * FROM a TABLESAMPLE SYSTEM (1)", kind: sqlanalysis.Select, reads: "a", reason: "TABLESAMPLE"},
		{name: "now", sql: "SELECT now()", kind: sqlanalysis.Select, reason: "volatile function now()"},
		{name: "current_timestamp keyword", sql: "SELECT * FROM a WHERE t < CURRENT_TIMESTAMP", kind: sqlanalysis.Select, reads: "a", reason: "volatile function current_timestamp()"},
		{name: "random", sql: "SELECT * FROM a ORDER BY random()", kind: sqlanalysis.Select, reads: "a", reason: "volatile function random()"},
		{name: "nextval", sql: "SELECT nextval('s')", kind: sqlanalysis.Select, reason: "volatile function nextval()"},
		{name: "uuid_generate prefix", sql: "SELECT uuid_generate_v1mc()", kind: sqlanalysis.Select, reason: "volatile function uuid_generate_v1mc()"},
		{name: "current_user", sql: "SELECT current_user", kind: sqlanalysis.Select, reason: "volatile function current_user()"},
		{name: "date_trunc depends on TimeZone", sql: "SELECT date_trunc('day', ts) FROM a", kind: sqlanalysis.Select, reads: "a", reason: "time-zone-dependent function date_trunc()"},
		{name: "literal now", sql: "SELECT * FROM a WHERE ts > 'now'", kind: sqlanalysis.Select, reads: "a", reason: "time-dependent literal 'now'"},
		{name: "unknown function may write", sql: "SELECT my_fn(id) FROM a", kind: sqlanalysis.Select, reads: "a", unknown: true, reason: "unknown function my_fn()"},
		{name: "unknown qualified function", sql: "SELECT app.f()", kind: sqlanalysis.Select, unknown: true, reason: "unknown function app.f()"},
		{name: "pg_catalog prefix is built-in", sql: "SELECT pg_catalog.lower('A')", kind: sqlanalysis.Select, cacheable: true},
		{name: "system catalog", sql: "SELECT * FROM pg_stat_activity", kind: sqlanalysis.Select, reads: "pg_stat_activity", reason: "system catalog"},
		{name: "temporary schema", sql: "SELECT * FROM pg_temp.scratch", kind: sqlanalysis.Select, reads: "pg_temp.scratch", reason: "temporary table"},
		{name: "select into", sql: "SELECT * INTO copy FROM a", kind: sqlanalysis.DDL, reads: "a", writes: "copy", reason: "SELECT INTO"},
		{name: "several statements", sql: "SELECT 1; SELECT 2;", kind: sqlanalysis.Multiple, reason: "2 statements"},
		{name: "trailing semicolon alone is fine", sql: "SELECT 1 FROM a;", kind: sqlanalysis.Select, reads: "a", cacheable: true},

		// Writes.
		{name: "data-modifying cte", sql: "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", kind: sqlanalysis.Select, writes: "t", reason: "data-modifying WITH (DELETE)"},
		{name: "insert select", sql: "INSERT INTO t (a) SELECT a FROM s", kind: sqlanalysis.Insert, reads: "s", writes: "t", reason: "INSERT"},
		{name: "insert on conflict", sql: "INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET n = (SELECT 1 FROM c)", kind: sqlanalysis.Insert, reads: "c", writes: "t", reason: "INSERT"},
		{name: "update from", sql: "UPDATE t SET a = s.a FROM s WHERE s.id = t.id", kind: sqlanalysis.Update, reads: "s", writes: "t", reason: "UPDATE"},
		{name: "delete using", sql: "DELETE FROM t USING s WHERE s.id = t.id", kind: sqlanalysis.Delete, reads: "s", writes: "t", reason: "DELETE"},
		{name: "merge", sql: "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", kind: sqlanalysis.Merge, reads: "s", writes: "t", reason: "MERGE"},
		{name: "truncate", sql: "TRUNCATE a, b", kind: sqlanalysis.Truncate, writes: "a b", reason: "TRUNCATE"},
		{name: "truncate cascade", sql: "TRUNCATE a CASCADE", kind: sqlanalysis.Truncate, writes: "a", unknown: true, reason: "TRUNCATE"},
		{name: "copy from", sql: "COPY t FROM STDIN", kind: sqlanalysis.Copy, writes: "t", reason: "COPY"},
		{name: "copy to", sql: "COPY t TO STDOUT", kind: sqlanalysis.Copy, reads: "t", reason: "COPY"},
		{name: "copy query to", sql: "COPY (SELECT * FROM t) TO STDOUT", kind: sqlanalysis.Copy, reads: "t", reason: "COPY"},
		{name: "create table", sql: "CREATE TABLE t (id int)", kind: sqlanalysis.DDL, writes: "t", reason: "CREATE"},
		{name: "create table as", sql: "CREATE TABLE t AS SELECT * FROM s", kind: sqlanalysis.DDL, reads: "s", writes: "t", reason: "CREATE"},
		{name: "create index", sql: "CREATE INDEX i ON t (a)", kind: sqlanalysis.DDL, writes: "t", reason: "CREATE"},
		{name: "create or replace view", sql: "CREATE OR REPLACE VIEW v AS SELECT * FROM t", kind: sqlanalysis.DDL, reads: "t", writes: "v", reason: "CREATE"},
		{name: "alter table", sql: "ALTER TABLE t ADD COLUMN c int", kind: sqlanalysis.DDL, writes: "t", reason: "ALTER"},
		{name: "drop table", sql: "DROP TABLE IF EXISTS a, b", kind: sqlanalysis.DDL, writes: "a b", reason: "DROP"},
		{name: "drop cascade", sql: "DROP TABLE a CASCADE", kind: sqlanalysis.DDL, writes: "a", unknown: true, reason: "DROP"},
		{name: "drop index is unresolvable", sql: "DROP INDEX i", kind: sqlanalysis.DDL, unknown: true, reason: "DROP"},
		{name: "create function is unresolvable", sql: "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql", kind: sqlanalysis.DDL, unknown: true, reason: "CREATE"},

		// Neither reads nor writes; or writes unknown.
		{name: "call", sql: "CALL p()", kind: sqlanalysis.Unknown, unknown: true, reason: "CALL"},
		{name: "do", sql: "DO $$ BEGIN END $$", kind: sqlanalysis.Unknown, unknown: true, reason: "DO"},
		{name: "execute", sql: "EXECUTE p(1)", kind: sqlanalysis.Unknown, unknown: true, reason: "EXECUTE"},
		{name: "unknown verb", sql: "FROBNICATE t", kind: sqlanalysis.Unknown, unknown: true, reason: "unknown statement FROBNICATE"},
		{name: "set", sql: "SET search_path = app", kind: sqlanalysis.Utility, reason: "SET"},
		{name: "begin", sql: "BEGIN", kind: sqlanalysis.Utility, reason: "BEGIN"},
		{name: "explain does not run", sql: "EXPLAIN DELETE FROM t", kind: sqlanalysis.Utility, reason: "EXPLAIN"},
		{name: "explain analyze runs", sql: "EXPLAIN ANALYZE DELETE FROM t", kind: sqlanalysis.Utility, writes: "t", reason: "EXPLAIN"},
		{name: "explain analyze option", sql: "EXPLAIN (ANALYZE, BUFFERS) UPDATE t SET a = 1", kind: sqlanalysis.Utility, writes: "t", reason: "EXPLAIN"},
		{name: "vacuum", sql: "VACUUM ANALYZE t", kind: sqlanalysis.Utility, reason: "VACUUM"},
		{name: "empty", sql: " -- nothing\n", kind: sqlanalysis.Utility, reason: "empty statement"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := sqlanalysis.Analyze(tt.sql)
			if err != nil {
				t.Fatalf("Analyze(%q): %v", tt.sql, err)
			}
			checkInvariants(t, tt.sql, a, err)
			if a.Kind != tt.kind {
				t.Errorf("Kind = %v, want %v", a.Kind, tt.kind)
			}
			if got := tableNames(a.Reads); !slices.Equal(got, list(tt.reads)) {
				t.Errorf("Reads = %v, want %v", got, list(tt.reads))
			}
			if got := tableNames(a.Writes); !slices.Equal(got, list(tt.writes)) {
				t.Errorf("Writes = %v, want %v", got, list(tt.writes))
			}
			if a.Cacheable != tt.cacheable || a.UnknownWrite != tt.unknown {
				t.Errorf("Cacheable, UnknownWrite = %t, %t, want %t, %t (reason %q)", a.Cacheable, a.UnknownWrite, tt.cacheable, tt.unknown, a.Reason)
			}
			if tt.cacheable != (a.Reason == "") || !strings.Contains(a.Reason, tt.reason) {
				t.Errorf("Reason = %q, want it to contain %q", a.Reason, tt.reason)
			}
		})
	}
}

// TestAnalyzeErrors checks that malformed input is an ErrSyntax error with
// a conservative analysis, never a panic.
func TestAnalyzeErrors(t *testing.T) {
	tests := []struct {
		name string
		sql  string
	}{
		{name: "unterminated string", sql: "SELECT 'abc"},
		{name: "unterminated escape string", sql: `SELECT E'abc\'`},
		{name: "unterminated comment", sql: "SELECT 1 /* /* */"},
		{name: "unterminated quoted identifier", sql: `SELECT * FROM "users`},
		{name: "unterminated dollar quote", sql: "SELECT $x$ abc $y$"},
		{name: "empty quoted identifier", sql: `SELECT * FROM ""`},
		{name: "unbalanced parenthesis", sql: "SELECT (1"},
		{name: "extra parenthesis", sql: "SELECT 1)"},
		{name: "missing table", sql: "SELECT * FROM"},
		{name: "reserved word as table", sql: "SELECT * FROM where"},
		{name: "junk after number", sql: "SELECT 1x"},
		{name: "junk after parameter", sql: "SELECT $1x"},
		{name: "join without condition", sql: "SELECT * FROM a JOIN b WHERE true"},
		{name: "unknown character", sql: "SELECT {1}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := sqlanalysis.Analyze(tt.sql)
			if !errors.Is(err, sqlanalysis.ErrSyntax) {
				t.Fatalf("Analyze(%q) error = %v, want ErrSyntax", tt.sql, err)
			}
			checkInvariants(t, tt.sql, a, err)
		})
	}
}

// TestPlaceholders checks the placeholder styles and the operators that
// look like them.
func TestPlaceholders(t *testing.T) {
	tests := []struct {
		name string
		sql  string
		want string
	}{
		{name: "dollar", sql: "SELECT $1, $2, $1", want: "$1 $2 $1"},
		{name: "question", sql: "SELECT * FROM t WHERE a=? AND b IN (?,?)", want: "? ? ?"},
		{name: "colon named", sql: "SELECT * FROM t WHERE a = :a AND b = :user.name", want: ":a :user.name"},
		{name: "at named", sql: "SELECT * FROM t WHERE a = @a AND b=@b", want: "@a @b"},
		{name: "cast is not a placeholder", sql: "SELECT a::int, :x::text FROM t", want: ":x"},
		{name: "assignment is not a placeholder", sql: "SELECT f(a := 1)", want: ""},
		{name: "array slice is not a placeholder", sql: "SELECT a[1:n], a[:m] FROM t", want: ""},
		{name: "jsonb operators", sql: "SELECT d @> '{}', d <@ e, d ?| k, d ?& k, d #>> '{a}', d ->> 'k' FROM t", want: ""},
		{name: "contained-by before a name", sql: "SELECT * FROM t WHERE a <@b", want: ""},
		{name: "inside literals and comments", sql: "SELECT '$1 ? :a @b', $$ ? $$ /* $2 */ FROM t -- ?", want: ""},
		{name: "inside quoted identifiers", sql: `SELECT "?", ":a" FROM t`, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := sqlanalysis.Analyze(tt.sql)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(a.Placeholders, " "); got != tt.want {
				t.Errorf("Placeholders = %q, want %q", got, tt.want)
			}
		})
	}
}
