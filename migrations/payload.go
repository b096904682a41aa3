package migrations

import (
	"github.com/dogpile-go/dogpile/invalidation"
)

// PayloadAll is the payload that says every table may have changed, sent
// by [Migrator.NotifyAll] and in place of a table's tag that would not fit
// NOTIFY's 8000-byte limit. No table's tag is "*": a tag always has a dot
// outside quotes, and a table named * is written "*".
const PayloadAll = invalidation.PayloadAll

// A Change is what one notification says changed: one table, or (All)
// every table. It is the listener's own type (package invalidation reads
// notifications without depending on this package's migration library).
type Change = invalidation.Change

// FormatTable returns the tag that names a table in notifications and in
// [Migrator.Watched]: schema and name as PostgreSQL stores them (as
// pg_class and pg_namespace hold them), each as is when it is a plain
// lower-case identifier ([a-z_][a-z0-9_$]*) and otherwise in double quotes,
// with inner double quotes doubled, joined by a dot. That is how package
// sqlanalysis writes a schema-qualified table (sqlanalysis.Table.String), so
// a tag from a notification equals the tag a cached query got from
// analysing SQL that names the table with its schema.
//
// Keywords are not quoted (a table named "select" is public.select): a tag
// is a name for the cache, not SQL to run.
func FormatTable(schema, table string) string {
	return Change{Schema: schema, Table: table}.String()
}

// ParsePayload reads a notification's payload: [PayloadAll], or a table's
// tag as [FormatTable] writes it. Anything else is an error wrapping
// [ErrBadPayload], which a listener should treat as [PayloadAll]: a change
// it cannot place may be anywhere.
func ParsePayload(payload string) (Change, error) {
	return invalidation.ParsePayload(payload)
}
