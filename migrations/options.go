package migrations

import "github.com/dogpile-go/dogpile/invalidation"

const (
	// DefaultSchema is the schema that holds everything dogpile installs,
	// goose's version table included, unless [WithSchema] names another.
	DefaultSchema = "dogpile"

	// DefaultChannel is the channel watched tables notify on, unless
	// [WithChannel] names another.
	DefaultChannel = invalidation.DefaultChannel

	// VersionTable is the name of goose's version table, in the schema.
	// It is not goose's default name (goose_db_version), so it never meets
	// an application's own goose table, wherever that is.
	VersionTable = "dogpile_schema_migrations"

	// MaxSchemaLen is the longest schema name in bytes: the trigger on a
	// watched table is named after the schema ([Migrator.TriggerName]),
	// and that name must fit PostgreSQL's 63 bytes.
	MaxSchemaLen = maxIdentifierLen - len(triggerSuffix)
)

// An Option configures a [Migrator] (and the package-level functions that
// take options).
type Option func(*config)

type config struct {
	schema  string
	channel string
}

// WithSchema names the schema for everything dogpile installs. The default
// is [DefaultSchema]. The name must be a plain identifier (lower-case
// letters, digits and underscores, not starting with a digit, not a
// reserved keyword) of at most [MaxSchemaLen] bytes: [New] rejects anything
// else with [ErrInvalidName]. Two schemas are two independent
// installations, each with its own version table, channel and triggers.
func WithSchema(name string) Option {
	return func(c *config) { c.schema = name }
}

// WithChannel names the NOTIFY channel. The default is [DefaultChannel].
// The name must be a plain identifier of at most 63 bytes, so that LISTEN
// with the name, quoted or not, hears it. The channel is fixed when the
// schema is installed (Up); Up with another channel on an installed schema
// fails with [ErrChannelMismatch].
func WithChannel(name string) Option {
	return func(c *config) { c.channel = name }
}
