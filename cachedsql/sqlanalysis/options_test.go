package sqlanalysis_test

import (
	"sync"
	"testing"

	"github.com/dogpile-go/dogpile/cachedsql/sqlanalysis"
)

func TestAnalyzerOptions(t *testing.T) {
	tests := []struct {
		name      string
		opts      []sqlanalysis.Option
		sql       string
		cacheable bool
		unknown   bool
		reason    string
	}{
		{name: "default unknown function writes", sql: "SELECT my_fn(1)", unknown: true, reason: "unknown function my_fn()"},
		{name: "declared safe", opts: []sqlanalysis.Option{sqlanalysis.WithSafeFunctions("my_fn")}, sql: "SELECT my_fn(1)", cacheable: true},
		{name: "names are case-insensitive", opts: []sqlanalysis.Option{sqlanalysis.WithSafeFunctions("My_Fn")}, sql: "SELECT MY_FN(1)", cacheable: true},
		{name: "qualified name", opts: []sqlanalysis.Option{sqlanalysis.WithSafeFunctions("app.calc")}, sql: "SELECT app.calc(1)", cacheable: true},
		{name: "qualified name does not match another schema", opts: []sqlanalysis.Option{sqlanalysis.WithSafeFunctions("app.calc")}, sql: "SELECT other.calc(1)", unknown: true, reason: "unknown function other.calc()"},
		{name: "prefix pattern", opts: []sqlanalysis.Option{sqlanalysis.WithSafeFunctions("app.calc_*")}, sql: "SELECT app.calc_tax(1)", cacheable: true},
		{name: "declared volatile", opts: []sqlanalysis.Option{sqlanalysis.WithVolatileFunctions("my_clock")}, sql: "SELECT my_clock()", reason: "volatile function my_clock()"},
		{name: "vouch for a cautious built-in", opts: []sqlanalysis.Option{sqlanalysis.WithSafeFunctions("date_trunc")}, sql: "SELECT date_trunc('day', ts) FROM t", cacheable: true},
		{name: "override a safe built-in", opts: []sqlanalysis.Option{sqlanalysis.WithVolatileFunctions("lower")}, sql: "SELECT lower('A')", reason: "volatile function lower()"},
		{name: "override a volatile prefix with an exact name", opts: []sqlanalysis.Option{sqlanalysis.WithSafeFunctions("pg_sleep_for")}, sql: "SELECT pg_sleep_for('1s')", cacheable: true},
		{name: "declared writing", opts: []sqlanalysis.Option{sqlanalysis.WithWritingFunctions("audit")}, sql: "SELECT audit(1)", unknown: true, reason: "function audit() may write"},
		{name: "later option wins", opts: []sqlanalysis.Option{sqlanalysis.WithSafeFunctions("f"), sqlanalysis.WithWritingFunctions("f")}, sql: "SELECT f()", unknown: true},
		{name: "unlisted read-only", opts: []sqlanalysis.Option{sqlanalysis.WithUnlistedFunctionsReadOnly()}, sql: "SELECT my_fn(1)", reason: "unknown function my_fn()"},
		{name: "time zone in the key", opts: []sqlanalysis.Option{sqlanalysis.WithTimeZoneInKey()}, sql: "SELECT date_trunc('day', ts), extract(dow FROM ts), to_char(ts, 'YYYY-MM') FROM t", cacheable: true},
		{name: "time zone in the key, age still reads the date", opts: []sqlanalysis.Option{sqlanalysis.WithTimeZoneInKey()}, sql: "SELECT age(ts) FROM t", reason: "time-zone-dependent function age()"},
		{name: "time zone in the key, now still volatile", opts: []sqlanalysis.Option{sqlanalysis.WithTimeZoneInKey()}, sql: "SELECT date_trunc('day', now())", reason: "volatile function now()"},
		{name: "time zone in the key, 'today' still the current time", opts: []sqlanalysis.Option{sqlanalysis.WithTimeZoneInKey()}, sql: "SELECT date_trunc('day', ts) FROM t WHERE ts > 'today'", reason: "time-dependent literal 'today'"},
		{name: "time zone in the key, a declared class wins", opts: []sqlanalysis.Option{sqlanalysis.WithTimeZoneInKey(), sqlanalysis.WithVolatileFunctions("date_trunc")}, sql: "SELECT date_trunc('day', ts) FROM t", reason: "volatile function date_trunc()"},
		{name: "safe current_user for a single-role app", opts: []sqlanalysis.Option{sqlanalysis.WithSafeFunctions("current_user")}, sql: "SELECT current_user", cacheable: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := sqlanalysis.New(tt.opts...).Analyze(tt.sql)
			if err != nil {
				t.Fatal(err)
			}
			checkInvariants(t, tt.sql, a, err)
			if a.Cacheable != tt.cacheable || a.UnknownWrite != tt.unknown {
				t.Errorf("Cacheable, UnknownWrite = %t, %t, want %t, %t (reason %q)", a.Cacheable, a.UnknownWrite, tt.cacheable, tt.unknown, a.Reason)
			}
			if tt.reason != "" && a.Reason != tt.reason {
				t.Errorf("Reason = %q, want %q", a.Reason, tt.reason)
			}
		})
	}
}

// TestAnalyzerConcurrent shares one Analyzer and its results between
// goroutines; run with -race.
func TestAnalyzerConcurrent(t *testing.T) {
	an := sqlanalysis.New(sqlanalysis.WithSafeFunctions("f"))
	shared, err := an.Analyze("SELECT f(a) FROM t JOIN u ON true")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				a, err := an.Analyze("SELECT f(a), now() FROM t WHERE id = $1")
				if err != nil || a.Cacheable {
					t.Errorf("goroutine %d: %v %+v", i, err, a)
					return
				}
				if len(shared.Reads) != 2 || shared.Reads[0].String() != "t" {
					t.Errorf("shared analysis changed: %v", shared.Reads)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestTableString(t *testing.T) {
	tests := []struct {
		name  string
		table sqlanalysis.Table
		want  string
	}{
		{name: "plain", table: sqlanalysis.Table{Name: "users"}, want: "users"},
		{name: "schema", table: sqlanalysis.Table{Schema: "app", Name: "users"}, want: "app.users"},
		{name: "catalog", table: sqlanalysis.Table{Catalog: "db", Schema: "app", Name: "users"}, want: "db.app.users"},
		{name: "mixed case quoted", table: sqlanalysis.Table{Schema: "App", Name: "Users"}, want: `"App"."Users"`},
		{name: "embedded quote", table: sqlanalysis.Table{Name: `a"b`}, want: `"a""b"`},
		{name: "space and dot", table: sqlanalysis.Table{Name: "a b.c"}, want: `"a b.c"`},
		{name: "leading digit", table: sqlanalysis.Table{Name: "1x"}, want: `"1x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.table.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestKindString(t *testing.T) {
	for k := sqlanalysis.Unknown; k <= sqlanalysis.Multiple; k++ {
		back, ok := sqlanalysis.ParseKind(k.String())
		if !ok || back != k {
			t.Errorf("ParseKind(%q) = %v, %t", k.String(), back, ok)
		}
	}
	if got := sqlanalysis.Kind(99).String(); got != "Kind(99)" {
		t.Errorf("Kind(99).String() = %q", got)
	}
}
