package sqlanalysis_test

import (
	"errors"
	"testing"

	"github.com/dogpile-go/dogpile/cachedsql/sqlanalysis"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		sql  string
		want string
	}{
		{name: "case and whitespace", sql: "SELECT  Id\n\tFROM Users   WHERE id=$1", want: "select id from users where id = $1"},
		{name: "comments removed", sql: "SELECT /* a /* nested */ */ 1 -- tail", want: "select 1"},
		{name: "literals kept byte for byte", sql: "SELECT 'A  b', E'\\n', $T$ X $T$, 1.50E3 FROM t", want: "select 'A  b', E'\\n', $T$ X $T$, 1.50E3 from t"},
		{name: "quoted identifiers kept", sql: `SELECT "MixedCase" FROM "S"."T"`, want: `select "MixedCase" from "S"."T"`},
		{name: "function calls and casts", sql: "SELECT lower ( Name ) :: TEXT FROM T", want: "select lower(name)::text from t"},
		{name: "trailing and empty statements", sql: "SELECT 1;; SELECT 2 ;", want: "select 1; select 2"},
		{name: "operators split as the server splits them", sql: "SELECT a=-1, b=?", want: "select a = - 1, b = ?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sqlanalysis.Normalize(tt.sql)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.sql, got, tt.want)
			}
			again, _ := sqlanalysis.Normalize(got)
			if again != got {
				t.Errorf("not idempotent: %q then %q", got, again)
			}
		})
	}
}

// TestNormalizeEquivalence checks that statements differing only in
// comments, whitespace and keyword case normalize equally, and that
// statements differing in a literal never do.
func TestNormalizeEquivalence(t *testing.T) {
	tests := []struct {
		name  string
		a, b  string
		equal bool
	}{
		{name: "whitespace", a: "select * from t where a = 1", b: "SELECT *\nFROM t\n  WHERE a=1", equal: true},
		{name: "comments", a: "select 1 from t", b: "select /* hi */ 1 -- there\n from t", equal: true},
		{name: "keyword case", a: "SELECT X FROM T", b: "select x from t", equal: true},
		{name: "string literal differs", a: "select 'a'", b: "select 'A'", equal: false},
		{name: "number literal differs", a: "select 1.0", b: "select 1.00", equal: false},
		{name: "quoted identifier differs", a: `select "A"`, b: `select "a"`, equal: false},
		{name: "whitespace inside literal differs", a: "select 'a b'", b: "select 'a  b'", equal: false},
		{name: "placeholder differs", a: "select $1", b: "select $2", equal: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			na, err := sqlanalysis.Normalize(tt.a)
			if err != nil {
				t.Fatal(err)
			}
			nb, err := sqlanalysis.Normalize(tt.b)
			if err != nil {
				t.Fatal(err)
			}
			if (na == nb) != tt.equal {
				t.Errorf("Normalize(%q) = %q, Normalize(%q) = %q; equal = %t, want %t", tt.a, na, tt.b, nb, na == nb, tt.equal)
			}
		})
	}
}

func TestNormalizeError(t *testing.T) {
	if _, err := sqlanalysis.Normalize("select 'open"); !errors.Is(err, sqlanalysis.ErrSyntax) {
		t.Fatalf("err = %v, want ErrSyntax", err)
	}
}
