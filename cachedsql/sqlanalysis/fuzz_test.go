package sqlanalysis_test

import (
	"testing"

	"github.com/dogpile-go/dogpile/cachedsql/sqlanalysis"
	"github.com/dogpile-go/dogpile/cachedsql/sqlanalysis/internal/corpus"
)

// FuzzAnalyze checks that Analyze never panics and that what it returns is
// consistent: a failed analysis is conservative, a cacheable one writes
// nothing, tables are sorted and distinct, and Normalize is idempotent and
// agrees with Analysis.Normalized. It is seeded with the whole corpus.
func FuzzAnalyze(f *testing.F) {
	cases, err := corpus.Load(corpusPath)
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range cases {
		f.Add(c.SQL)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		a, err := sqlanalysis.Analyze(sql)
		checkInvariants(t, sql, a, err)
		// Comments and whitespace never change the analysis.
		if err == nil {
			b, err2 := sqlanalysis.Analyze(a.Normalized)
			if err2 != nil {
				t.Fatalf("Analyze(%q) succeeds but its normalized form %q fails: %v", sql, a.Normalized, err2)
			}
			if b.Kind != a.Kind || b.Cacheable != a.Cacheable || b.UnknownWrite != a.UnknownWrite ||
				len(b.Reads) != len(a.Reads) || len(b.Writes) != len(a.Writes) || b.Normalized != a.Normalized {
				t.Fatalf("normalizing changed the analysis of %q:\n before: %+v\n  after: %+v", sql, a, b)
			}
		}
	})
}
