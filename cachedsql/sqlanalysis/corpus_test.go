package sqlanalysis_test

import (
	"flag"
	"os"
	"slices"
	"testing"

	"github.com/dogpile-go/dogpile/cachedsql/sqlanalysis"
	"github.com/dogpile-go/dogpile/cachedsql/sqlanalysis/internal/corpus"
)

var update = flag.Bool("update", false, "rewrite the expectations in testdata/corpus.txt from the analyzer's output (review the diff!)")

const corpusPath = "testdata/corpus.txt"

// observe turns an analysis into the corpus's expectation fields.
func observe(c corpus.Case, a *sqlanalysis.Analysis, err error) corpus.Case {
	c.HasExpect = true
	c.Error = err != nil
	c.Kind, c.Reads, c.Writes, c.Cacheable, c.UnknownWrite = "", nil, nil, false, false
	if err != nil {
		return c
	}
	c.Kind = a.Kind.String()
	for _, t := range a.Reads {
		c.Reads = append(c.Reads, t.String())
	}
	for _, t := range a.Writes {
		c.Writes = append(c.Writes, t.String())
	}
	c.Cacheable = a.Cacheable
	c.UnknownWrite = a.UnknownWrite
	return c
}

// TestCorpus checks the analyzer against the golden expectations recorded
// for every statement of the corpus (which the pgquerycheck module checks
// against PostgreSQL's own parser).
func TestCorpus(t *testing.T) {
	cases, err := corpus.Load(corpusPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 300 {
		t.Fatalf("corpus has %d statements, want at least 300", len(cases))
	}
	for i, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			a, err := sqlanalysis.Analyze(c.SQL)
			checkInvariants(t, c.SQL, a, err)
			got := observe(c, a, err)
			if *update {
				cases[i] = got
				return
			}
			if !c.HasExpect {
				t.Fatalf("line %d: no expectation recorded; run go test -run TestCorpus -update and review the diff", c.Line)
			}
			if c.Error != got.Error || c.Kind != got.Kind || !slices.Equal(c.Reads, got.Reads) ||
				!slices.Equal(c.Writes, got.Writes) || c.Cacheable != got.Cacheable || c.UnknownWrite != got.UnknownWrite {
				t.Errorf("line %d: %s\n got: error=%t kind=%s reads=%v writes=%v cacheable=%t unknown_write=%t (reason %q, err %v)\nwant: error=%t kind=%s reads=%v writes=%v cacheable=%t unknown_write=%t",
					c.Line, c.SQL, got.Error, got.Kind, got.Reads, got.Writes, got.Cacheable, got.UnknownWrite, a.Reason, err,
					c.Error, c.Kind, c.Reads, c.Writes, c.Cacheable, c.UnknownWrite)
			}
		})
	}
	if *update {
		if err := os.WriteFile(corpusPath, []byte(corpus.Format(cases)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
