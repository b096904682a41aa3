package migrations

import (
	"fmt"
	"strings"
)

// PayloadAll is the payload that says every table may have changed, sent
// by [Migrator.NotifyAll] and in place of a table's tag that would not fit
// NOTIFY's 8000-byte limit. No table's tag is "*": a tag always has a dot
// outside quotes, and a table named * is written "*".
const PayloadAll = "*"

// A Change is what one notification says changed: one table, or (All)
// every table.
type Change struct {
	All    bool   // every table may have changed; Schema and Table are empty
	Schema string // the table's schema, as PostgreSQL stores it (case kept, unquoted)
	Table  string // the table's name, as PostgreSQL stores it
}

// String returns the payload that announces c.
func (c Change) String() string {
	if c.All {
		return PayloadAll
	}
	return FormatTable(c.Schema, c.Table)
}

// FormatTable returns the tag that names a table in notifications and in
// [Migrator.Watched]: schema and name as PostgreSQL stores them (as
// pg_class and pg_namespace hold them), each as is when it is a plain
// lower-case identifier ([a-z_][a-z0-9_$]*) and otherwise in double quotes,
// with inner double quotes doubled, joined by a dot. That is how package
// sqlanalysis writes a schema-qualified table (sqlanalysis.Table.String), so
// a tag from a notification equals the tag a cached query got from
// analysing SQL that names the table with its schema. Note that
// sqlanalysis cannot know the search_path: a query naming "users" is tagged
// users, a notification public.users, and a listener maps one to the other.
//
// Keywords are not quoted (a table named "select" is public.select): a tag
// is a name for the cache, not SQL to run.
func FormatTable(schema, table string) string {
	return quoteTagPart(schema) + "." + quoteTagPart(table)
}

func quoteTagPart(s string) string {
	plain := s != "" && (s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z'))
	for i := 1; plain && i < len(s); i++ {
		c := s[i]
		plain = c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
	}
	if plain {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// ParsePayload reads a notification's payload: [PayloadAll], or a table's
// tag as [FormatTable] writes it. Anything else is an error wrapping
// [ErrBadPayload], which a listener should treat as [PayloadAll]: a change
// it cannot place may be anywhere.
func ParsePayload(payload string) (Change, error) {
	if payload == PayloadAll {
		return Change{All: true}, nil
	}
	schema, rest, err := parseTagPart(payload)
	if err != nil {
		return Change{}, fmt.Errorf("%w %q: %s", ErrBadPayload, payload, err)
	}
	if !strings.HasPrefix(rest, ".") {
		return Change{}, fmt.Errorf("%w %q: want schema.table", ErrBadPayload, payload)
	}
	table, rest, err := parseTagPart(rest[1:])
	if err != nil {
		return Change{}, fmt.Errorf("%w %q: %s", ErrBadPayload, payload, err)
	}
	if rest != "" {
		return Change{}, fmt.Errorf("%w %q: unexpected %q after the table name", ErrBadPayload, payload, rest)
	}
	c := Change{Schema: schema, Table: table}
	if c.String() != payload {
		// Only the one spelling FormatTable gives is a tag: "public"."users"
		// is not public.users, and a cache keyed by tags must not see two.
		return Change{}, fmt.Errorf("%w %q: not in canonical form (want %q)", ErrBadPayload, payload, c.String())
	}
	return c, nil
}

// parseTagPart reads one part of a tag from the start of s: a quoted name
// or a run of characters up to the next dot. It returns the name and what
// follows it.
func parseTagPart(s string) (name, rest string, err error) {
	if !strings.HasPrefix(s, `"`) {
		i := strings.IndexByte(s, '.')
		if i < 0 {
			i = len(s)
		}
		if i == 0 {
			return "", "", fmt.Errorf("empty name")
		}
		return s[:i], s[i:], nil
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != '"' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '"' {
			b.WriteByte('"')
			i++
			continue
		}
		return b.String(), s[i+1:], nil
	}
	return "", "", fmt.Errorf("unterminated quoted name")
}
