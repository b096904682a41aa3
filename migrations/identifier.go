package migrations

import (
	"fmt"
	"strings"
)

// maxIdentifierLen is PostgreSQL's limit on an identifier's length in
// bytes (NAMEDATALEN-1 with the default build); longer names are
// truncated, which would make two long names one.
const maxIdentifierLen = 63

// triggerSuffix follows the schema's name in the name of the trigger on a
// watched table.
const triggerSuffix = "_notify"

// checkIdentifier reports whether s is a plain identifier: lower-case ASCII
// letters, digits and underscores, not starting with a digit, at most max
// bytes, and not a keyword PostgreSQL reserves. Such a name means the same
// quoted or not, in SQL, in LISTEN, in pg_notify and in goose's version
// table queries (which use the table name unquoted). what says what the
// name is for, in the error.
func checkIdentifier(what, s string, max int) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: %s name is empty", ErrInvalidName, what)
	case len(s) > max:
		return fmt.Errorf("%w: %s name %q is %d bytes long; at most %d are allowed", ErrInvalidName, what, s, len(s), max)
	case s[0] >= '0' && s[0] <= '9':
		return fmt.Errorf("%w: %s name %q starts with a digit; use a plain identifier (a-z, 0-9, _, not starting with a digit)", ErrInvalidName, what, s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '_' && (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return fmt.Errorf("%w: %s name %q contains %q; use a plain identifier (a-z, 0-9, _, not starting with a digit)", ErrInvalidName, what, s, rune(c))
		}
	}
	if reservedKeywords[s] {
		return fmt.Errorf("%w: %s name %q is a reserved SQL keyword; pick another name", ErrInvalidName, what, s)
	}
	return nil
}

// quoteIdent quotes s as a SQL identifier.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// quoteLiteral quotes s as a SQL string literal (standard_conforming_strings
// is on in every supported PostgreSQL, and the names quoted here are plain
// identifiers anyway).
func quoteLiteral(s string) string {
	return `'` + strings.ReplaceAll(s, `'`, `''`) + `'`
}

// reservedKeywords are the keywords PostgreSQL does not accept as an
// unquoted schema, table or channel name: its reserved keywords and those
// reserved except as a function or type name (pg_get_keywords() catcode R
// and T), as of PostgreSQL 17. A test checks the list against the server.
var reservedKeywords = func() map[string]bool {
	m := make(map[string]bool)
	for _, w := range strings.Fields(`
		all analyse analyze and any array as asc asymmetric both case cast
		check collate column constraint create current_catalog current_date
		current_role current_time current_timestamp current_user default
		deferrable desc distinct do else end except false fetch for foreign
		from grant group having in initially intersect into lateral leading
		limit localtime localtimestamp not null offset on only or order
		placing primary references returning select session_user some
		symmetric system_user table then to trailing true union unique user
		using variadic when where window with
		authorization binary collation concurrently cross current_schema
		freeze full ilike inner is isnull join left like natural notnull
		outer overlaps right similar tablesample verbose`) {
		m[w] = true
	}
	return m
}()
