package cachedsql

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"

	"github.com/jmoiron/sqlx"
)

// sessionSettings are the settings of a DB's sessions that shape the
// values its queries return without the SQL showing it: PostgreSQL's
// TimeZone turns ('2024-01-01 00:00:00+00'::timestamptz)::text into
// another string in Tokyo, DateStyle and IntervalStyle spell dates and
// intervals, extra_float_digits floats, bytea_output bytes, lc_monetary,
// lc_numeric and lc_time what to_char writes, search_path (and the
// schemas it resolves to for the role) picks the tables unqualified names
// mean, and transform_null_equals and default_text_search_config change
// what x = NULL and to_tsvector give. With them in the key,
// time-zone-dependent functions such as date_trunc are cacheable
// (sqlanalysis.WithTimeZoneInKey, which the DB's default analyzer takes
// on PostgreSQL). They are part of every key, so that DBs whose sessions
// differ (a DSN with timezone=Asia/Tokyo, a role with its own settings)
// share a cache and its invalidation but not results. A DB reads them
// once, on the first connection it takes from the pool (see prime) or its
// first cacheable read, from a connection as the pool makes them: a
// session that changes them (SET) stops using the cache until it ends.
//
// The role is part of them too (current_user, and row_security): a role
// must not be served rows that the database would refuse it (no grant) or
// filter out (row-level security). Settings of the application's own that
// policies or views read (current_setting('app.tenant')) join them with
// [WithSessionSettings].
type sessionSettings struct {
	query string                 // "": the database has none that matter, or none we know
	value atomic.Pointer[string] // the SHA-256 of what query read, once read
}

// postgresSettingsQuery reads sessionSettings from PostgreSQL (and
// databases that speak its dialect), without its closing parenthesis:
// newSessionSettings adds the settings WithSessionSettings names and closes
// it. Each value is quoted (quote_nullable:
// NULL, for a setting the server lacks or a custom one never set, or a
// literal), so that the string reads back one way only: a value holding a
// newline and another setting's name, or a setting left out, cannot give
// the string of other settings. search_path is
// also read resolved (current_schemas): "$user", its default, names
// another schema for each role. transform_null_equals changes what
// "x = NULL" means, default_text_search_config what a one-argument
// to_tsvector returns.
const postgresSettingsQuery = `SELECT concat_ws(E'\n',
	'TimeZone=' || quote_nullable(current_setting('TimeZone', true)),
	'DateStyle=' || quote_nullable(current_setting('DateStyle', true)),
	'IntervalStyle=' || quote_nullable(current_setting('IntervalStyle', true)),
	'extra_float_digits=' || quote_nullable(current_setting('extra_float_digits', true)),
	'bytea_output=' || quote_nullable(current_setting('bytea_output', true)),
	'lc_monetary=' || quote_nullable(current_setting('lc_monetary', true)),
	'lc_numeric=' || quote_nullable(current_setting('lc_numeric', true)),
	'lc_time=' || quote_nullable(current_setting('lc_time', true)),
	'search_path=' || quote_nullable(current_setting('search_path', true)),
	'schemas=' || quote_nullable(current_schemas(false)::text),
	'transform_null_equals=' || quote_nullable(current_setting('transform_null_equals', true)),
	'default_text_search_config=' || quote_nullable(current_setting('default_text_search_config', true)),
	'standard_conforming_strings=' || quote_nullable(current_setting('standard_conforming_strings', true)),
	'xmlbinary=' || quote_nullable(current_setting('xmlbinary', true)),
	'xmloption=' || quote_nullable(current_setting('xmloption', true)),
	'row_security=' || quote_nullable(current_setting('row_security', true)),
	'user=' || quote_nullable(current_user)`

// settingName is a PostgreSQL setting's name: an identifier, or several
// joined by dots (a custom setting, such as app.tenant).
var settingName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)*$`)

// WithSessionSettings adds settings to those that every key holds (see
// [DB]): settings of the application's own that shape what reads return,
// such as the tenant a row-level security policy reads with
// current_setting('app.tenant', true). A DB reads them once, with the
// others, on a connection as the pool makes it: set them where every
// connection gets them (a DSN's options=-c app.tenant=a, ALTER ROLE … SET),
// not with SET on a session, which stops that session's use of the cache.
// Without it, DBs whose connections differ only in such a setting share
// results.
//
// PostgreSQL only. A name not spelled as a setting's name, or a database
// other than PostgreSQL, makes Open fail with [ErrBadOption]. Names are
// not looked up: one misspelt, or never set, reads as unset (NULL) on
// every connection, and then keeps no one apart.
func WithSessionSettings(names ...string) Option {
	return func(s *settings) { s.sessionSettings = append(s.sessionSettings, names...) }
}

// newSessionSettings returns the settings reader for a database opened
// with driverName, with the extra settings WithSessionSettings named.
func newSessionSettings(driverName string, extra []string) (*sessionSettings, error) {
	s := &sessionSettings{}
	if sqlx.BindType(driverName) != sqlx.DOLLAR || driverName == "ql" {
		if len(extra) > 0 {
			return nil, fmt.Errorf("%w: WithSessionSettings(%q): PostgreSQL only; the %q driver has none that are read", ErrBadOption, extra, driverName)
		}
		return s, nil
	}
	var q strings.Builder
	q.WriteString(postgresSettingsQuery)
	for _, name := range extra {
		if !settingName.MatchString(name) {
			return nil, fmt.Errorf("%w: WithSessionSettings: %q is not a setting's name", ErrBadOption, name)
		}
		// The name is an identifier (checked above): quoting it as a
		// literal is safe.
		fmt.Fprintf(&q, ",\n\t'%[1]s=' || quote_nullable(current_setting('%[1]s', true))", name)
	}
	q.WriteString(")")
	s.query = q.String()
	return s, nil
}

// get returns the settings (their digest, for keys), read on sess when
// the caller holds one (with a pool of one, another connection would never
// come) and on the pool otherwise, the first time; a failure is returned
// and the next call tries again. Callers racing on the first read each
// read them: they are the same.
func (s *sessionSettings) get(ctx context.Context, inner *sql.DB, sess *sql.Conn) (string, error) {
	if s.query == "" {
		return "", nil
	}
	if v := s.value.Load(); v != nil {
		return *v, nil
	}
	var row *sql.Row
	if sess != nil {
		row = sess.QueryRowContext(ctx, s.query)
	} else {
		row = inner.QueryRowContext(ctx, s.query)
	}
	var settings string
	if err := row.Scan(&settings); err != nil {
		return "", fmt.Errorf("cachedsql: reading the session settings that shape results (part of every key): %w", err)
	}
	// Keys hold the settings' digest, not their text: the text is some
	// 600 bytes, which every key would hash again on every read.
	sum := sha256.Sum256([]byte(settings))
	v := string(sum[:])
	s.value.CompareAndSwap(nil, &v)
	return v, nil
}

// prime reads the settings on sess, a connection just taken from the
// inner pool (its settings as the pool makes them), unless they are known:
// a caller that goes on to hold it (a transaction, a *sql.Conn) leaves no
// connection for a later read of them with a pool of one, which would wait
// for it forever. A failure is left for get to meet again.
func (s *sessionSettings) prime(ctx context.Context, sess *sql.Conn) {
	if s.query == "" || s.value.Load() != nil {
		return
	}
	_, _ = s.get(ctx, nil, sess)
}
