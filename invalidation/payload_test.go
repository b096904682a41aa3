package invalidation_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/cachedsql"
	"github.com/dogpile-go/dogpile/cachedsql/sqlanalysis"
	"github.com/dogpile-go/dogpile/internal/testenv"
	"github.com/dogpile-go/dogpile/invalidation"
	"github.com/dogpile-go/dogpile/migrations"
)

// trickyNames are names PostgreSQL accepts that need quoting, or look as
// if they did.
var trickyNames = []string{
	"users", "_s1", "t$1", "t_2", "Users", "ORDERS", "1t", "$t", "a.b", `we"ird`,
	`""`, `"`, ".", "..", "two words", "café", "select", "*", "x*", "a-b",
	"tab\tname", "new\nline", strings.Repeat("x", 63), "日本",
}

// A table's payload, as Change.String writes it, is the tag sqlanalysis
// gives a query that names the table with its schema, and ParsePayload
// reads it back to the same table.
func TestPayloadAgreesWithSQLAnalysis(t *testing.T) {
	check := func(t *testing.T, schema, table string) {
		t.Helper()
		c := invalidation.Change{Schema: schema, Table: table}
		payload := c.String()
		if a := (sqlanalysis.Table{Schema: schema, Name: table}).String(); a != payload {
			t.Fatalf("sqlanalysis writes %q, the payload is %q", a, payload)
		}
		got, err := invalidation.ParsePayload(payload)
		if err != nil || got != c {
			t.Fatalf("ParsePayload(%q) = %+v, %v; want %+v", payload, got, err, c)
		}
	}
	schemas, tables := namePairs(t, 0, 5000)
	for i := range schemas {
		check(t, schemas[i], tables[i])
	}
}

// namePairs returns every pair of tricky names and n random pairs, as
// schemas and tables; the random ones come from a logged seed on stream.
func namePairs(t *testing.T, stream uint64, n int) (schemas, tables []string) {
	t.Helper()
	for _, s := range trickyNames {
		for _, n := range trickyNames {
			schemas, tables = append(schemas, s), append(tables, n)
		}
	}
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, stream))
	for range n {
		schemas, tables = append(schemas, randomName(r)), append(tables, randomName(r))
	}
	return schemas, tables
}

// The trigger's payload is written in SQL (dogpile.table_tag, installed by
// the migrations); it must be what Change.String writes for every name,
// or a notification would name a tag no cached query has.
func TestPayloadAgreesWithTrigger(t *testing.T) {
	db, err := sql.Open("pgx", testenv.PostgresDB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := migrations.Up(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	schemas, tables := namePairs(t, 2, 2000)
	rows, err := db.QueryContext(t.Context(),
		"SELECT s, n, dogpile.table_tag(s, n) FROM unnest($1::text[], $2::text[]) AS u(s, n)", schemas, tables)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	checked := 0
	for rows.Next() {
		var schema, table, tag string
		if err := rows.Scan(&schema, &table, &tag); err != nil {
			t.Fatal(err)
		}
		if want := (invalidation.Change{Schema: schema, Table: table}).String(); tag != want {
			t.Errorf("dogpile.table_tag(%q, %q) = %q; Change.String writes %q", schema, table, tag, want)
		}
		checked++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if checked != len(schemas) {
		t.Fatalf("checked %d names, want %d", checked, len(schemas))
	}
}

// TestParsePayloadAcceptsOnlyWhatStringWrites feeds ParsePayload arbitrary
// text, most of it malformed: it must refuse it with ErrBadPayload, or
// read a change that Change.String writes back as the same text.
func TestParsePayloadAcceptsOnlyWhatStringWrites(t *testing.T) {
	inputs := []string{
		"", "*", "**", `"*"`, "users", ".users", "public.", "public..users", "a.b.c",
		`"public".users`, `public."users"`, `public."Users`, `"Sales.Orders`,
		`public."A"x`, `"A"."b""c"`, `public."x.y"`, `a."`, `"".x`, `x.""`,
	}
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	for range 5000 {
		inputs = append(inputs, randomPayload(r))
	}
	accepted := 0
	for _, in := range inputs {
		if parsesCanonically(t, in) {
			accepted++
		}
	}
	// The near misses make a share of the random inputs valid; a parser
	// that refused everything would pass the check above.
	if accepted < 100 {
		t.Fatalf("ParsePayload accepted %d of %d inputs; the valid ones among them are more", accepted, len(inputs))
	}
}

func FuzzParsePayload(f *testing.F) {
	for _, s := range []string{"*", "public.users", `"A"."b""c"`, `public."x.y"`, `a."`, `"".x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload string) { parsesCanonically(t, payload) })
}

// parsesCanonically checks ParsePayload on payload and reports whether it
// accepted it.
func parsesCanonically(t *testing.T, payload string) bool {
	t.Helper()
	got, err := invalidation.ParsePayload(payload)
	if err != nil {
		if !errors.Is(err, invalidation.ErrBadPayload) {
			t.Fatalf("ParsePayload(%q) = %v; want ErrBadPayload", payload, err)
		}
		return false
	}
	if got.String() != payload {
		t.Fatalf("ParsePayload(%q) = %+v, which formats as %q", payload, got, got.String())
	}
	return true
}

const nameRunes = `abcxyz_$09AZé" .*`

func randomName(r *rand.Rand) string { return randomString(r, 1+r.IntN(8)) }

// randomString is n runes drawn from nameRunes.
func randomString(r *rand.Rand, n int) string {
	runes := []rune(nameRunes)
	var b strings.Builder
	for range n {
		b.WriteRune(runes[r.IntN(len(runes))])
	}
	return b.String()
}

func randomPayload(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		// Near misses: a valid payload with one character changed.
		s := []rune((invalidation.Change{Schema: randomName(r), Table: randomName(r)}).String())
		s[r.IntN(len(s))] = []rune(randomString(r, 1))[0]
		return string(s)
	}
	return randomString(r, r.IntN(12))
}

func TestCachedSQLTags(t *testing.T) {
	for _, tc := range []struct {
		name       string
		namespaces []string
		change     invalidation.Change
		want       []string
	}{
		{"default namespace", nil, invalidation.Change{Schema: "public", Table: "users"}, []string{"cachedsql:t:public.users"}},
		{"everything", []string{"app"}, invalidation.Change{All: true}, []string{"app:*"}},
		{"quoted", []string{"app"}, invalidation.Change{Schema: "Sales", Table: `we"ird`}, []string{`app:t:"Sales"."we""ird"`}},
		{"other schema", []string{"app"}, invalidation.Change{Schema: "sales", Table: "orders"}, []string{"app:t:sales.orders"}},
		{"two namespaces", []string{"b", "a", "b"}, invalidation.Change{Schema: "public", Table: "t"}, []string{"a:t:public.t", "b:t:public.t"}},
		{"two namespaces, everything", []string{"b", "a"}, invalidation.Change{All: true}, []string{"a:*", "b:*"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := invalidation.CachedSQLTags(tc.namespaces...)(tc.change)
			if !slices.Equal(got, tc.want) {
				t.Errorf("CachedSQLTags(%q)(%+v) = %q, want %q", tc.namespaces, tc.change, got, tc.want)
			}
		})
	}
}

// bumpRecorder records the tags of every bump.
type bumpRecorder struct {
	backend.ProxyBackend
	mu     sync.Mutex
	bumped [][]string // guarded by mu
}

func (r *bumpRecorder) BumpTags(ctx context.Context, tags []string) error {
	r.mu.Lock()
	r.bumped = append(r.bumped, slices.Clone(tags))
	r.mu.Unlock()
	return r.ProxyBackend.BumpTags(ctx, tags)
}

func (r *bumpRecorder) take() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.bumped
	r.bumped = nil
	return out
}

// TestCachedSQLTagsAgreesWithCachedSQL checks the mapping against the tags
// a cachedsql.DB bumps itself when told a table changed, and when told
// everything did, whatever its default schema.
func TestCachedSQLTagsAgreesWithCachedSQL(t *testing.T) {
	for _, tc := range []struct {
		name          string
		defaultSchema string
		table         string // as cachedsql.DB.InvalidateTables takes it
		change        invalidation.Change
	}{
		{"unqualified", "", "users", invalidation.Change{Schema: "public", Table: "users"}},
		{"qualified", "", "sales.orders", invalidation.Change{Schema: "sales", Table: "orders"}},
		{"quoted", "", `"Sales"."Orders"`, invalidation.Change{Schema: "Sales", Table: "Orders"}},
		{"quote inside", "", `public."we""ird"`, invalidation.Change{Schema: "public", Table: `we"ird`}},
		{"keyword", "", `public."select"`, invalidation.Change{Schema: "public", Table: "select"}},
		{"other default schema", "app", "users", invalidation.Change{Schema: "app", Table: "users"}},
		{"other default schema, qualified", "app", "public.users", invalidation.Change{Schema: "public", Table: "users"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store, err := memory.New(memory.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			rec := &bumpRecorder{}
			b, err := backend.Wrap(store, rec)
			if err != nil {
				t.Fatal(err)
			}
			// No connection is made: invalidating is the cache's business.
			db, err := cachedsql.Open("pgx", "postgres://127.0.0.1:1/none", cachedsql.WithBackend(b),
				cachedsql.WithNamespace("ns"), cachedsql.WithDefaultSchema(tc.defaultSchema))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			mapping := invalidation.CachedSQLTags("ns")
			if err := db.InvalidateTables(t.Context(), tc.table); err != nil {
				t.Fatal(err)
			}
			if got, want := rec.take(), [][]string{mapping(tc.change)}; !slices.EqualFunc(got, want, slices.Equal) {
				t.Errorf("cachedsql bumps %q for %s; CachedSQLTags maps %+v to %q", got, tc.table, tc.change, want)
			}
			if err := db.InvalidateAll(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got, want := rec.take(), [][]string{mapping(invalidation.Change{All: true})}; !slices.EqualFunc(got, want, slices.Equal) {
				t.Errorf("cachedsql bumps %q for everything; CachedSQLTags gives %q", got, want)
			}
		})
	}
}

func ExampleParsePayload() {
	for _, payload := range []string{"public.users", `sales."Orders"`, "*", `"public".users`} {
		c, err := invalidation.ParsePayload(payload)
		fmt.Printf("all=%v schema=%q table=%q err=%v\n", c.All, c.Schema, c.Table, err)
	}
	// Output:
	// all=false schema="public" table="users" err=<nil>
	// all=false schema="sales" table="Orders" err=<nil>
	// all=true schema="" table="" err=<nil>
	// all=false schema="" table="" err=invalidation: malformed notification payload: "\"public\".users": not in canonical form (want "public.users")
}

func ExampleCachedSQLTags() {
	tagsOf := invalidation.CachedSQLTags("app")
	fmt.Println(tagsOf(invalidation.Change{Schema: "public", Table: "users"}))
	fmt.Println(tagsOf(invalidation.Change{Schema: "Sales", Table: "Orders"}))
	fmt.Println(tagsOf(invalidation.Change{All: true}))
	// Output:
	// [app:t:public.users]
	// [app:t:"Sales"."Orders"]
	// [app:*]
}
