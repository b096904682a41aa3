package sqlanalysis

// Option configures an [Analyzer]; see [New].
type Option func(*Analyzer)

// WithSafeFunctions declares functions whose result depends only on their
// arguments and the data they are given: statements calling them stay
// cacheable. Names are matched case-insensitively after PostgreSQL folding,
// as "name" or "schema.name" (pg_catalog. is implied for built-ins); a
// trailing * matches any suffix ("myapp.calc_*"). It overrides the built-in
// lists, so it can also vouch for a built-in the analyzer is cautious about,
// such as date_trunc when every connection uses the same TimeZone.
func WithSafeFunctions(names ...string) Option {
	return func(a *Analyzer) { a.functions.set(funcSafe, names...) }
}

// WithVolatileFunctions declares functions that write no table data but
// whose result varies (time, randomness, session state): statements calling
// them are not cacheable but write nothing. Names are written as for
// [WithSafeFunctions].
func WithVolatileFunctions(names ...string) Option {
	return func(a *Analyzer) { a.functions.set(funcVolatile, names...) }
}

// WithWritingFunctions declares functions that may change table data: a
// statement calling them is an unknown write. This is already what happens
// to a function on no list, unless [WithUnlistedFunctionsReadOnly] is given.
// Names are written as for [WithSafeFunctions].
func WithWritingFunctions(names ...string) Option {
	return func(a *Analyzer) { a.functions.set(funcWrites, names...) }
}

// WithUnlistedFunctionsReadOnly treats functions on no list as volatile
// (not cacheable, writing nothing) instead of as possible writers. Use it
// when the database has no user-defined functions that modify data; by
// default a call to an unlisted function makes the statement an unknown
// write, because a PL/pgSQL function may INSERT anywhere.
func WithUnlistedFunctionsReadOnly() Option {
	return func(a *Analyzer) { a.unlisted = funcVolatile }
}

// WithTimeZoneInKey declares that the cache key of every statement holds
// the session's TimeZone and locale settings (DateStyle, lc_time,
// lc_numeric, …), as package cachedsql's keys do on PostgreSQL. The
// time-zone-dependent functions (date_trunc, extract, date_part, to_char,
// date_bin, make_timestamptz, …) then leave a statement cacheable: their
// results depend only on their arguments and those settings. age stays
// uncacheable, since its one-argument form reads the current date. A
// function declared with another option keeps its class.
func WithTimeZoneInKey() Option {
	return func(a *Analyzer) { a.zoneInKey = true }
}
