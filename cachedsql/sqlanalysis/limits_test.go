package sqlanalysis_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/cachedsql/sqlanalysis"
)

// TestAnalyzeDeepNesting checks that pathological nesting fails cleanly
// with ErrSyntax rather than exhausting the stack, and that moderate
// nesting still works.
func TestAnalyzeDeepNesting(t *testing.T) {
	tests := []struct {
		name    string
		sql     string
		wantErr bool
	}{
		{name: "100 nested subqueries", sql: strings.Repeat("SELECT * FROM (", 100) + "SELECT 1 FROM t" + strings.Repeat(") s", 100)},
		{name: "100000 nested parentheses", sql: "SELECT " + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000), wantErr: true},
		{name: "100000 nested FROM parentheses", sql: "SELECT * FROM " + strings.Repeat("(", 100000) + "t" + strings.Repeat(")", 100000), wantErr: true},
		{name: "100000 nested CASE", sql: "SELECT " + strings.Repeat("CASE WHEN x THEN ", 100000) + "1" + strings.Repeat(" END", 100000), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := sqlanalysis.Analyze(tt.sql)
			if tt.wantErr != errors.Is(err, sqlanalysis.ErrSyntax) {
				t.Fatalf("err = %v, want error %t", err, tt.wantErr)
			}
			checkInvariants(t, tt.sql, a, err)
		})
	}
}

// TestAnalyzeScales guards against quadratic behaviour on long but flat
// statements (thousands of CTEs, joins, FROM items, placeholders). The
// bound is loose: it catches blow-ups, not regressions of a few percent.
func TestAnalyzeScales(t *testing.T) {
	n := 5000
	inputs := map[string]string{
		"ctes":         "WITH " + strings.Repeat("a AS (SELECT 1), ", n) + "b AS (SELECT 1) SELECT * FROM a, b",
		"joins":        "SELECT * FROM a" + strings.Repeat(" JOIN b ON true", n),
		"from items":   "SELECT * FROM " + strings.Repeat("a, ", n) + "b",
		"placeholders": "SELECT * FROM t WHERE id IN (" + strings.Repeat("?, ", n) + "?)",
		"open parens":  "SELECT * FROM " + strings.Repeat("(", 900),
	}
	for name, sql := range inputs {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			a, err := sqlanalysis.Analyze(sql)
			checkInvariants(t, sql, a, err)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}
