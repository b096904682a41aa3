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

// notFunctionNames are non-reserved words that PostgreSQL never calls as
// functions: before a parenthesis they are grammar, EXISTS (…), ROW (…),
// VALUES (…), type modifiers such as varchar(10), and so on.
var notFunctionNames = wordSet(`between exists row values setof national
	precision bit char character dec decimal float interval nchar numeric time
	timestamp varchar inout out none operator`)

// grammarBefore lists non-reserved words that are grammar before a
// parenthesis only after certain tokens, and a function call anywhere
// else: PostgreSQL lets a user create a function called next, first, by or
// cube, and SELECT next(1) calls it. Each word maps to the tokens that may
// precede it as grammar: FETCH FIRST (…), GROUP BY (…), AT TIME ZONE (…),
// GROUPING SETS (…), character varying(…), ON CONFLICT (…), a path
// literal before PASSING (…) or COLUMNS (…), a pattern before ESCAPE (…),
// and a closing parenthesis before FILTER (…) and OVER (…). "'" stands for
// a string literal (or a placeholder) and ")" for a closing parenthesis. CUBE (…) and
// ROLLUP (…) are grammar only as grouping elements (see
// parser.groupingElement). MERGE's INSERT (…) and UPDATE SET (…) are
// parsed by parseMerge, so a word not listed is a function call.
var grammarBefore = map[string]map[string]bool{
	"first":    wordSet("fetch"),
	"next":     wordSet("fetch"),
	"by":       wordSet("group partition order"),
	"zone":     wordSet("time"),
	"sets":     wordSet("grouping"),
	"varying":  wordSet("character char nchar bit"),
	"conflict": wordSet("on"),
	"passing":  wordSet("'"),
	"columns":  wordSet("'"),
	"escape":   wordSet("'"),
	"filter":   wordSet(")"),
	"over":     wordSet(")"),
}

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
// function call rather than grammar; prev is the token before it.
// groupingElement says the name starts an element of GROUP BY, where
// CUBE (…) and ROLLUP (…) are grammar.
func isFunctionName(t, prev token, groupingElement bool) bool {
	if t.kind == tkQuotedIdent {
		return true
	}
	if t.kind != tkIdent {
		return false
	}
	if reservedKeywords[t.val] {
		return reservedFunctionNames[t.val]
	}
	if notFunctionNames[t.val] {
		return false
	}
	if (t.val == "cube" || t.val == "rollup") && groupingElement {
		return false
	}
	if after, ok := grammarBefore[t.val]; ok {
		switch prev.kind {
		case tkString, tkParam:
			return !after["'"]
		case tkRParen:
			return !after[")"]
		case tkIdent:
			return !after[prev.val]
		}
	}
	return true
}
