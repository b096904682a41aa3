package invalidation

import (
	"fmt"
	"strings"
)

// PayloadAll is the notification payload that says every table may have
// changed.
const PayloadAll = "*"

// A Change is what one change notification says changed: one table, or
// (All) every table. It is the payload of the triggers package migrations
// installs, read back; this package reads it itself so that the core does
// not depend on the migration library.
type Change struct {
	All    bool   // every table may have changed; Schema and Table are empty
	Schema string // the table's schema, as PostgreSQL stores it (case kept, unquoted)
	Table  string // the table's name, as PostgreSQL stores it
}

// String returns the payload that announces c: [PayloadAll], or schema and
// table joined by a dot, each as is when it is a plain lower-case
// identifier ([a-z_][a-z0-9_$]*) and otherwise in double quotes with inner
// quotes doubled: public.users, sales."Orders". That is how package
// sqlanalysis writes a schema-qualified table, so it is also the table's
// part of a cachedsql tag.
func (c Change) String() string {
	if c.All {
		return PayloadAll
	}
	return quoteTagPart(c.Schema) + "." + quoteTagPart(c.Table)
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

// ParsePayload reads a notification's payload: [PayloadAll], or a table in
// the one spelling [Change.String] gives. Anything else is an error
// wrapping [ErrBadPayload]; the [Listener] treats such a payload as
// [PayloadAll], since a change it cannot place may be anywhere.
func ParsePayload(payload string) (Change, error) {
	if payload == PayloadAll {
		return Change{All: true}, nil
	}
	schema, rest, err := parseTagPart(payload)
	if err != nil {
		return Change{}, fmt.Errorf("%w: %q: %s", ErrBadPayload, payload, err)
	}
	if !strings.HasPrefix(rest, ".") {
		return Change{}, fmt.Errorf("%w: %q: want schema.table", ErrBadPayload, payload)
	}
	table, rest, err := parseTagPart(rest[1:])
	if err != nil {
		return Change{}, fmt.Errorf("%w: %q: %s", ErrBadPayload, payload, err)
	}
	if rest != "" {
		return Change{}, fmt.Errorf("%w: %q: unexpected %q after the table name", ErrBadPayload, payload, rest)
	}
	c := Change{Schema: schema, Table: table}
	if c.String() != payload {
		// "public"."users" is not public.users: tags are compared as
		// strings, so only one spelling of a table may reach them.
		return Change{}, fmt.Errorf("%w: %q: not in canonical form (want %q)", ErrBadPayload, payload, c.String())
	}
	return c, nil
}

// parseTagPart reads one part of a payload from the start of s: a quoted
// name, or a run of characters up to the next dot. It returns the name and
// what follows it.
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

// CachedSQLTags returns the mapping from a change to the tags package
// cachedsql gives it in each of namespaces (cachedsql's default namespace,
// "cachedsql", when none is given): a table's tag namespace:t:schema.table,
// and for every table namespace:*, the tag every cached read of the
// namespace carries.
//
// No default schema is needed: cachedsql qualifies an unqualified table
// with its default schema (cachedsql.WithDefaultSchema) before naming its
// tag, and a notification always names the schema, so public.users is the
// table's tag on both sides. The one mismatch is a DB whose default schema
// is not the first schema of its connections' search_path; fix that in
// the DB's options, not here.
func CachedSQLTags(namespaces ...string) func(Change) []string {
	if len(namespaces) == 0 {
		namespaces = []string{"cachedsql"}
	}
	namespaces = sortedSet(namespaces)
	return func(c Change) []string {
		out := make([]string, len(namespaces))
		for i, ns := range namespaces {
			if c.All {
				out[i] = ns + ":*"
			} else {
				out[i] = ns + ":t:" + c.String()
			}
		}
		return out
	}
}
