package sqlanalysis_test

import (
	"strings"
	"testing"

	"github.com/dogpile-go/dogpile/cachedsql/sqlanalysis"
)

// TestTimeLiteralSpellings covers literals PostgreSQL reads as the current
// time although they are not a bare 'now': its date/time parser skips
// punctuation and white space, so 'now()' (a common spelling in column
// defaults and filters) and padded literals mean now too.
func TestTimeLiteralSpellings(t *testing.T) {
	for _, sql := range []string{
		"SELECT * FROM events WHERE ts > 'now()'::timestamptz - interval '1 day'",
		"SELECT * FROM events WHERE day = 'today,'::date",
		"SELECT * FROM events WHERE ts < 'tomorrow12:00'",
		"SELECT * FROM events WHERE ts > '" + strings.Repeat(" ", 100) + "now'",
	} {
		a, err := sqlanalysis.Analyze(sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		if a.Cacheable || !strings.Contains(a.Reason, "time-dependent literal") {
			t.Errorf("%s: cacheable=%v reason=%q, want a time-dependent literal", sql, a.Cacheable, a.Reason)
		}
	}
	// Text that only contains the letters of a time word stays cacheable,
	// and so does a literal too long to be a date.
	for _, sql := range []string{
		"SELECT * FROM notes WHERE body = 'I know how'",
		"SELECT * FROM notes WHERE body = 'done today " + strings.Repeat("x", 200) + "'",
	} {
		if a, err := sqlanalysis.Analyze(sql); err != nil || !a.Cacheable {
			t.Errorf("%s: err=%v, not cacheable (%s)", sql, err, a.Reason)
		}
	}
}

// TestNonReservedFunctionNames covers calls of functions whose names are
// non-reserved keywords: PostgreSQL lets a user create next(), delete() or
// cube() and calls them in expressions, so they are function calls there
// (unknown, hence possible writes), and grammar only where the grammar
// puts them.
func TestNonReservedFunctionNames(t *testing.T) {
	for _, name := range strings.Fields(`first next insert update delete set by zone escape
		columns rows passing conflict repeatable filter over sets cube rollup
		varying partition matched`) {
		sql := "SELECT " + name + "(id) FROM t"
		a, err := sqlanalysis.Analyze(sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		if a.Cacheable || !a.UnknownWrite {
			t.Errorf("%s: cacheable=%v unknown write=%v, want an unknown function", sql, a.Cacheable, a.UnknownWrite)
		}
	}
	// The grammar that uses these words before a parenthesis stays
	// cacheable.
	for _, sql := range []string{
		"SELECT x FROM a ORDER BY x FETCH FIRST (3) ROWS ONLY",
		"SELECT x FROM a ORDER BY x FETCH NEXT (2) ROWS WITH TIES",
		"SELECT a, sum(b) FROM t GROUP BY ROLLUP (a), CUBE (a, b), GROUPING SETS ((a), ())",
		"SELECT a FROM t GROUP BY DISTINCT ROLLUP (a)",
		"SELECT count(*) FILTER (WHERE x > 1) OVER (PARTITION BY (y) ORDER BY (z)) FROM a",
		"SELECT * FROM json_table('[]'::jsonb, '$[*]' COLUMNS (a int PATH '$.a')) jt",
		"SELECT x FROM a WHERE y LIKE 'a!%' ESCAPE ('!') OR y LIKE $1 ESCAPE ($2)",
		"SELECT ts AT TIME ZONE ('UTC') FROM a",
		"SELECT CAST(x AS character varying(10)) FROM a",
	} {
		if a, err := sqlanalysis.Analyze(sql); err != nil || !a.Cacheable {
			t.Errorf("%s: err=%v, not cacheable (%s)", sql, err, a.Reason)
		}
	}
	// MERGE's actions are grammar; a call in its conditions is a call.
	a, err := sqlanalysis.Analyze("MERGE INTO a USING b ON a.id = b.id WHEN MATCHED THEN UPDATE SET (x, y) = (b.x, b.y) WHEN NOT MATCHED THEN INSERT (id) VALUES (b.id) WHEN MATCHED AND b.z THEN DELETE")
	if err != nil || a.UnknownWrite {
		t.Errorf("MERGE actions: err=%v unknown write=%v (%s)", err, a.UnknownWrite, a.Reason)
	}
	a, err = sqlanalysis.Analyze("MERGE INTO a USING b ON a.id = b.id WHEN MATCHED AND delete(b.id) > 0 THEN DO NOTHING")
	if err != nil || !a.UnknownWrite {
		t.Errorf("MERGE condition calling delete(): err=%v unknown write=%v", err, a.UnknownWrite)
	}
}
