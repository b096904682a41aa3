package sqlanalysis

import "strings"

func wordSet(words string) map[string]bool {
	m := make(map[string]bool)
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// reservedKeywords are PostgreSQL's fully reserved keywords and those
// reserved except as function or type names. None of them can start a
// table name or be an alias without AS, and none starts a function call
// (the exceptions are handled in isFunctionName).
var reservedKeywords = wordSet(`
	all analyse analyze and any array as asc asymmetric both case cast check
	collate column constraint create current_catalog current_date current_role
	current_time current_timestamp current_user default deferrable desc distinct
	do else end except false fetch for foreign from grant group having in
	initially intersect into lateral leading limit localtime localtimestamp not
	null offset on only or order placing primary references returning select
	session_user some symmetric system_user table then to trailing true union
	unique user using variadic when where window with
	authorization binary collation concurrently cross current_schema freeze
	full ilike inner is isnull join left like natural notnull outer overlaps
	right similar tablesample verbose`)

// reservedFunctionNames are reserved keywords that may still be called as
// functions: left(s, n), current_timestamp(3), current_schema().
var reservedFunctionNames = wordSet(`left right current_time current_timestamp
	localtime localtimestamp current_schema collation`)

// notFunctionNames are non-reserved words that precede a parenthesis as
// part of the grammar rather than as a function call: EXISTS (…), ROW (…),
// OVER (…), FILTER (…), GROUPING SETS (…), type modifiers such as
// varchar(10), ON CONFLICT (…), MERGE's INSERT (…) and so on.
var notFunctionNames = wordSet(`between exists row values setof national
	precision varying bit char character dec decimal float interval nchar
	numeric time timestamp varchar inout out none over filter sets rollup cube
	operator first next conflict insert update delete zone escape by set
	columns rows repeatable partition matched passing`)

// aliasStopWords may follow a table reference without being its alias.
var aliasStopWords = wordSet(`set overriding restart continue cascade
	restrict nowait skip repeatable`)

// sqlValueFunctions are the keywords that call a function without
// parentheses (CURRENT_TIMESTAMP, USER, …).
var sqlValueFunctions = wordSet(`current_timestamp current_date current_time
	localtime localtimestamp current_user session_user user current_role
	current_catalog current_schema system_user`)

// canStartName reports whether t can be the first part of a table name.
func canStartName(t token) bool {
	return t.kind == tkQuotedIdent || (t.kind == tkIdent && !reservedKeywords[t.val])
}

// canBeAlias reports whether t, following a table reference without AS,
// is an alias.
func canBeAlias(t token) bool {
	return t.kind == tkQuotedIdent || (t.kind == tkIdent && !reservedKeywords[t.val] && !aliasStopWords[t.val])
}

// isFunctionName reports whether an unqualified name followed by "(" is a
// function call rather than grammar.
func isFunctionName(t token) bool {
	if t.kind == tkQuotedIdent {
		return true
	}
	if t.kind != tkIdent {
		return false
	}
	if reservedKeywords[t.val] {
		return reservedFunctionNames[t.val]
	}
	return !notFunctionNames[t.val]
}
