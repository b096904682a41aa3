package migrations

// RenderSQL exposes the rendered migration templates to the tests.
var RenderSQL = renderSQL

// ReservedKeywords exposes the keywords names may not be.
var ReservedKeywords = reservedKeywords
