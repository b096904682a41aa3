package migrations

// RenderSQL exposes the rendered migration templates to the tests.
var RenderSQL = renderSQL

// ReservedKeywords exposes the keywords names may not be.
var ReservedKeywords = reservedKeywords

// LockID exposes the key of m's migration lock.
func LockID(m *Migrator) int64 { return m.lockID }
