package pgquerycheck

import (
	"slices"
	"testing"

	"github.com/dogpile-go/dogpile/cachedsql/sqlanalysis"
	"github.com/dogpile-go/dogpile/cachedsql/sqlanalysis/internal/corpus"
)

// divergences are corpus statements on which the analyzer knowingly
// differs from PostgreSQL's parser, with the reason; they are skipped.
var divergences = map[string]string{}

// questionOperators are statements whose lone ? is PostgreSQL's jsonb
// "key exists" operator. The analyzer, which also serves drivers that bind
// ? (sqlx, database/sql with MySQL-style placeholders), reports such a ?
// as a placeholder: by design, and harmless, since it changes neither the
// tables nor cacheability. These are checked against the text as written
// instead of the rebound text.
var questionOperators = map[string]bool{
	"select/jsonb_ops":                    true,
	"placeholder/jsonb_question_operator": true,
}

// names renders tables as the reference does, sorted as strings.
func names(ts []sqlanalysis.Table) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.String())
	}
	slices.Sort(out)
	return out
}

// TestCorpusAgreesWithPostgres checks every corpus statement against the
// tables PostgreSQL's own parser says it reads and writes.
func TestCorpusAgreesWithPostgres(t *testing.T) {
	cases, err := corpus.Load("../testdata/corpus.txt")
	if err != nil {
		t.Fatal(err)
	}
	agreed := 0
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if why, ok := divergences[c.Name]; ok {
				t.Skipf("known divergence: %s", why)
			}
			a, aerr := sqlanalysis.Analyze(c.SQL)
			sql := c.SQL
			if aerr == nil && !questionOperators[c.Name] {
				// The driver turns ?, :name and @name into $n before the
				// server sees the text.
				var err error
				if sql, err = Rebind(c.SQL, a.Placeholders); err != nil {
					t.Fatalf("line %d: %v", c.Line, err)
				}
			}
			ref, perr := Reference(sql)
			if perr != nil {
				// PostgreSQL rejects it: the analyzer must reject it too,
				// or at least treat it as an uncacheable unknown write.
				if aerr == nil && !(a.Kind == sqlanalysis.Unknown && a.UnknownWrite && !a.Cacheable) {
					t.Fatalf("line %d: pg_query rejects %q (%v) but the analyzer accepts it: %+v", c.Line, c.SQL, perr, a)
				}
				agreed++
				return
			}
			if aerr != nil {
				t.Fatalf("line %d: pg_query parses %q but the analyzer fails: %v", c.Line, c.SQL, aerr)
			}
			ok := true
			if a.Kind != ref.Kind {
				t.Errorf("kind: analyzer %v, postgres %v", a.Kind, ref.Kind)
				ok = false
			}
			if got := names(a.Reads); !slices.Equal(got, ref.Reads) {
				t.Errorf("reads: analyzer %v, postgres %v", got, ref.Reads)
				ok = false
			}
			if got := names(a.Writes); !slices.Equal(got, ref.Writes) {
				t.Errorf("writes: analyzer %v, postgres %v", got, ref.Writes)
				ok = false
			}
			if ref.UnknownWrite && !a.UnknownWrite {
				t.Errorf("postgres's tree makes this an unknown write; the analyzer does not")
				ok = false
			}
			if a.UnknownWrite && !ref.UnknownWrite && !ref.MayBeUnknown {
				t.Errorf("the analyzer reports an unknown write (%s) with no function call or unresolvable object in the tree", a.Reason)
				ok = false
			}
			if a.Cacheable && (ref.Kind != sqlanalysis.Select || len(ref.Writes) > 0 || ref.UnknownWrite || ref.NotCacheable) {
				t.Errorf("the analyzer says cacheable, but postgres's tree has kind %v, writes %v, unknown %t, uncacheable clause %t",
					ref.Kind, ref.Writes, ref.UnknownWrite, ref.NotCacheable)
				ok = false
			}
			if !ok {
				t.Logf("line %d: %s", c.Line, c.SQL)
				return
			}
			agreed++
		})
	}
	t.Logf("%d of %d corpus statements agree with pg_query (%d known divergences)", agreed, len(cases), len(divergences))
}
