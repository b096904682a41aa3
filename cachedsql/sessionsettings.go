package cachedsql

import (
	"context"
	"database/sql"
	"fmt"
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
type sessionSettings struct {
	query string // "": the database has none that matter, or none we know
	value atomic.Pointer[string]
}

// postgresSettingsQuery reads sessionSettings from PostgreSQL (and
// databases that speak its dialect). current_setting(…, true) gives NULL
// for a setting the server lacks, which concat_ws skips. search_path is
// also read resolved (current_schemas): "$user", its default, names
// another schema for each role. transform_null_equals changes what
// "x = NULL" means, default_text_search_config what a one-argument
// to_tsvector returns.
const postgresSettingsQuery = `SELECT concat_ws(E'\n',
	'TimeZone=' || current_setting('TimeZone', true),
	'DateStyle=' || current_setting('DateStyle', true),
	'IntervalStyle=' || current_setting('IntervalStyle', true),
	'extra_float_digits=' || current_setting('extra_float_digits', true),
	'bytea_output=' || current_setting('bytea_output', true),
	'lc_monetary=' || current_setting('lc_monetary', true),
	'lc_numeric=' || current_setting('lc_numeric', true),
	'lc_time=' || current_setting('lc_time', true),
	'search_path=' || current_setting('search_path', true),
	'schemas=' || current_schemas(false)::text,
	'transform_null_equals=' || current_setting('transform_null_equals', true),
	'default_text_search_config=' || current_setting('default_text_search_config', true),
	'standard_conforming_strings=' || current_setting('standard_conforming_strings', true),
	'xmlbinary=' || current_setting('xmlbinary', true),
	'xmloption=' || current_setting('xmloption', true))`

// newSessionSettings returns the settings reader for a database opened
// with driverName.
func newSessionSettings(driverName string) *sessionSettings {
	s := &sessionSettings{}
	if sqlx.BindType(driverName) == sqlx.DOLLAR && driverName != "ql" {
		s.query = postgresSettingsQuery
	}
	return s
}

// get returns the settings, read on sess when the caller holds one (with
// a pool of one, another connection would never come) and on the pool
// otherwise, the first time; a failure is returned and the next call tries
// again. Callers racing on the first read each read them: they are the
// same.
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
	var v string
	if err := row.Scan(&v); err != nil {
		return "", fmt.Errorf("reading the session settings that shape results: %w", err)
	}
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
