package sqlanalysis

// Analyzer analyses SQL statements with a given function policy. The zero
// value is not usable; create one with [New]. An Analyzer is immutable after
// New returns, so it is safe for concurrent use by multiple goroutines.
type Analyzer struct {
	// functions holds the caller's function classes, consulted before
	// defaultFunctions.
	functions *functionTable
	// unlisted is the class of a function on no list: funcWrites unless
	// WithUnlistedFunctionsReadOnly.
	unlisted funcClass
	// zoneInKey says the keys hold the session's TimeZone and locale
	// (WithTimeZoneInKey): time-zone-dependent functions are then safe,
	// but for age, whose one-argument form reads the current date.
	zoneInKey bool
}

// New returns an Analyzer with the built-in function lists, adjusted by
// opts in order (a later option wins for the same name).
func New(opts ...Option) *Analyzer {
	a := &Analyzer{functions: newFunctionTable(), unlisted: funcWrites}
	for _, opt := range opts {
		opt(a)
	}
	return a
}

// defaultAnalyzer serves the package-level functions.
var defaultAnalyzer = New()

// Analyze analyses sql with the default Analyzer; see [Analyzer.Analyze].
func Analyze(sql string) (*Analysis, error) { return defaultAnalyzer.Analyze(sql) }

// classify returns the class of the function called name (folded,
// "schema.name" when qualified outside pg_catalog).
func (a *Analyzer) classify(name string) funcClass {
	if c := a.functions.lookup(name); c != funcUnlisted {
		return c
	}
	if c := defaultFunctions.lookup(name); c != funcUnlisted {
		return c
	}
	return funcUnlisted
}
