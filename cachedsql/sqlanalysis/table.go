package sqlanalysis

import (
	"cmp"
	"slices"
	"strings"
)

// Table names a relation as the statement wrote it, with PostgreSQL's
// identifier rules applied: unquoted parts are folded to lower case, quoted
// parts keep their case, and every part is truncated to 63 bytes.
//
// Schema and Catalog are empty when the statement did not write them: the
// analyzer does not know the search_path, so "users" and "public.users" are
// different Tables. A cache that tags results by table should qualify names
// the same way everywhere (or always write the schema).
type Table struct {
	Catalog string // database name of a three-part name (db.schema.table), usually empty
	Schema  string // schema, empty when unqualified
	Name    string // relation name
}

// String renders the table as a dotted name, quoting parts that would not
// survive a round trip through PostgreSQL's identifier folding, so that
// String is a stable tag for a cache.
func (t Table) String() string { return t.render(quoteIdentIfNeeded) }

// Quoted renders the table as SQL that names it, whatever its parts hold
// (keywords too): every part double-quoted.
func (t Table) Quoted() string { return t.render(quoteIdent) }

// render joins the table's parts with dots, each written by quote.
func (t Table) render(quote func(string) string) string {
	var b strings.Builder
	for _, part := range []string{t.Catalog, t.Schema} {
		if part != "" {
			b.WriteString(quote(part))
			b.WriteByte('.')
		}
	}
	b.WriteString(quote(t.Name))
	return b.String()
}

// quoteIdentIfNeeded double-quotes s unless it is a plain lower-case
// identifier.
func quoteIdentIfNeeded(s string) string {
	plain := s != "" && (s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z'))
	for i := 0; plain && i < len(s); i++ {
		c := s[i]
		plain = c == '_' || c == '$' || (c >= 'a' && c <= 'z') || isDigit(c)
	}
	if plain {
		return s
	}
	return quoteIdent(s)
}

// quoteIdent double-quotes s, doubling its double quotes.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// compareTables orders tables by catalog, schema, then name.
func compareTables(a, b Table) int {
	return cmp.Or(cmp.Compare(a.Catalog, b.Catalog), cmp.Compare(a.Schema, b.Schema), cmp.Compare(a.Name, b.Name))
}

// sortTables sorts ts and removes duplicates.
func sortTables(ts []Table) []Table {
	slices.SortFunc(ts, compareTables)
	return slices.Compact(ts)
}
