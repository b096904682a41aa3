package sqlanalysis_test

import (
	"errors"
	"testing"

	"github.com/dogpile-go/dogpile/cachedsql/sqlanalysis"
)

// checkInvariants checks what must hold for any input: a non-nil,
// self-consistent analysis, and a normalization that is idempotent.
func checkInvariants(t testing.TB, sql string, a *sqlanalysis.Analysis, err error) {
	t.Helper()
	if a == nil {
		t.Fatalf("Analyze(%q) returned a nil Analysis (err %v)", sql, err)
	}
	if err != nil {
		if !errors.Is(err, sqlanalysis.ErrSyntax) {
			t.Fatalf("Analyze(%q) error %v does not wrap ErrSyntax", sql, err)
		}
		if a.Cacheable || !a.UnknownWrite || a.Kind != sqlanalysis.Unknown {
			t.Fatalf("Analyze(%q) failed (%v) but its Analysis is not conservative: %+v", sql, err, a)
		}
	}
	if a.Cacheable {
		if len(a.Writes) > 0 || a.UnknownWrite || a.Reason != "" || a.Kind != sqlanalysis.Select {
			t.Fatalf("Analyze(%q) is cacheable but inconsistent: %+v", sql, a)
		}
	} else if a.Reason == "" {
		t.Fatalf("Analyze(%q) is not cacheable but gives no reason: %+v", sql, a)
	}
	for _, ts := range [][]sqlanalysis.Table{a.Reads, a.Writes} {
		for i := 1; i < len(ts); i++ {
			if ts[i-1].String() == ts[i].String() {
				t.Fatalf("Analyze(%q): duplicate table %v in %v", sql, ts[i], ts)
			}
		}
		for _, tb := range ts {
			if tb.Name == "" {
				t.Fatalf("Analyze(%q): table with empty name in %v", sql, ts)
			}
		}
	}
	norm, nerr := sqlanalysis.Normalize(sql)
	if (nerr == nil) != (a.Normalized != "" || err == nil) && nerr == nil && norm != a.Normalized {
		t.Fatalf("Normalize(%q) = %q, but Analysis.Normalized = %q", sql, norm, a.Normalized)
	}
	if nerr == nil {
		again, err2 := sqlanalysis.Normalize(norm)
		if err2 != nil {
			t.Fatalf("Normalize(Normalize(%q)) failed: %v (first pass gave %q)", sql, err2, norm)
		}
		if again != norm {
			t.Fatalf("Normalize is not idempotent for %q:\n once: %q\ntwice: %q", sql, norm, again)
		}
	}
}
