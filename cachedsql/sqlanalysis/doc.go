// Package sqlanalysis tells a query-result cache what a SQL statement does:
// which tables it reads, which it writes, and whether its result may be
// cached. It is a pure-Go, standard-library-only analyzer that follows
// PostgreSQL's lexical rules and identifier folding, and accepts the
// placeholder styles of other drivers ($1, ?, :name, @name).
//
//	a, err := sqlanalysis.Analyze("SELECT u.name FROM users u JOIN orgs o ON o.id = u.org_id WHERE u.id = $1")
//	if err != nil {
//		// Could not analyse: treat as an unknown write (a is still usable).
//	}
//	switch {
//	case a.Cacheable:
//		// Cache under a.Normalized plus the arguments, tagged with a.Reads
//		// ([users orgs]).
//	case a.UnknownWrite:
//		// Invalidate everything.
//	default:
//		// Invalidate the tags of a.Writes.
//	}
//
// # What it guarantees
//
// Correctness comes before coverage: whatever the analyzer cannot classify
// with certainty is reported as not cacheable, and, if it might write, as an
// [Analysis.UnknownWrite]. A statement is cacheable only if it is a single
// read-only query (SELECT, VALUES, TABLE, WITH … SELECT) with no locking
// clause (FOR UPDATE …), no TABLESAMPLE, no SELECT … INTO, no read of a
// system catalog or of the session's temporary schema, no time-dependent literal ('now', 'today') and no call of a
// function that is not on the safe list. Functions fall in four classes:
// safe (deterministic: lower, coalesce, count, jsonb_build_object, …),
// volatile (now, random, nextval, current_setting, pg_advisory_lock, …: not
// cacheable, no write), time-zone-dependent (date_trunc, extract, to_char,
// age, …: their results on timestamptz values depend on the session's
// TimeZone, so they are not cacheable either, unless the cache key holds
// it: [WithTimeZoneInKey]; age stays uncacheable, since its one-argument
// form reads the current date) and writing (dblink*, lo_*).
// A function on no list may be a user function that writes, so by default
// it makes the statement an unknown write; [WithSafeFunctions],
// [WithVolatileFunctions], [WithWritingFunctions] and
// [WithUnlistedFunctionsReadOnly] adjust the lists for an [Analyzer].
//
// Tables are reported as written ([Table]), folded the way PostgreSQL folds
// identifiers; the analyzer does not know the search_path, so "users" and
// "public.users" are different tables to it. CTE names, aliases and table
// functions are not tables.
//
// # Placeholders and normalization
//
// $1 is PostgreSQL's placeholder; ? (database/sql, sqlx), :name (sqlx named
// queries) and @name are recognised too, and reported in order in
// [Analysis.Placeholders]. "::" is a cast, ":=" and "=>" name arguments, a
// colon inside brackets is an array slice (a[1:n]), and ?|, ?&, @>, <@ and
// the other operators stay operators. A lone ? is always a placeholder,
// even where a driver that only knows $n would have sent PostgreSQL's jsonb
// ? operator; that affects neither tables nor cacheability.
//
// [Normalize] (also [Analysis.Normalized]) gives the canonical text for
// cache keys: comments dropped, one space between tokens (none inside
// brackets, before commas, around :: and dots, or between a function name
// and its parenthesis), keywords and unquoted identifiers in lower case,
// literals and quoted identifiers untouched.
//
// # What it cannot see
//
// The analyzer sees only the statement text. It cannot know that a name is
// a view (reads of a view are tagged with the view, not its base tables), a
// temporary table (whose contents differ per session), a sequence (changed
// by nextval without a write the cache sees) or a foreign table; that a
// trigger or rule writes other tables; that a function on the safe list was
// replaced by a user function of the same name earlier in the search_path;
// or that session settings other than TimeZone (DateStyle, search_path,
// default_text_search_config, role) differ between the connections that
// share a cache. Callers that use such features should keep those tables out
// of the cache or declare the functions involved.
//
// Text the analyzer cannot parse, including nesting deeper than 1000
// levels, is an error wrapping [ErrSyntax].
//
// The analyzer is not a validator: it accepts some text that PostgreSQL
// rejects (inside expressions it only looks for subqueries, function calls
// and literals). That is harmless for a cache, since a rejected statement
// neither returns rows nor writes.
package sqlanalysis
