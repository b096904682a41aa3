package sqlanalysis

import "strings"

// Normalize returns a canonical form of sql for use in cache keys: comments
// are removed, tokens are separated by exactly one space, keywords and
// unquoted identifiers are lower-cased, and empty statements (extra or
// trailing semicolons) are dropped. Literals, quoted identifiers, operators
// and placeholders are kept byte for byte.
//
// So two statements that differ only in comments, whitespace or keyword case
// normalize to the same string, and two statements that differ in any
// literal never do. Normalize is idempotent. It fails, with an error
// wrapping [ErrSyntax], only where the lexer does (an unterminated string,
// comment or quoted identifier).
func Normalize(sql string) (string, error) {
	toks, err := lex(sql)
	if err != nil {
		return "", err
	}
	return normalizeTokens(toks), nil
}

func normalizeTokens(toks []token) string {
	var b strings.Builder
	b.Grow(len(toks) * 6)
	pendingSemicolon := false
	var prev token
	for i, t := range toks {
		if t.kind == tkSemicolon {
			pendingSemicolon = b.Len() > 0
			continue
		}
		if pendingSemicolon {
			b.WriteString("; ")
			pendingSemicolon = false
		} else if b.Len() > 0 && needSpace(prev, t, toks, i) {
			b.WriteByte(' ')
		}
		if t.kind == tkIdent {
			b.WriteString(t.val)
		} else {
			b.WriteString(t.text)
		}
		prev = t
	}
	return b.String()
}

// needSpace reports whether normalized text puts a space between prev and
// t (toks[i]). Spaces are left out only where no re-lexing could glue the
// two tokens into different ones: inside brackets, before commas, around
// :: and in dotted names, and between a name and its parenthesis, so
// "f(a, b)", "t.col" and "x::int" read naturally.
func needSpace(prev, t token, toks []token, i int) bool {
	switch {
	case prev.kind == tkLParen || prev.kind == tkLBracket:
		return false
	case t.kind == tkRParen || t.kind == tkRBracket || t.kind == tkComma:
		return false
	case t.kind == tkLBracket && (prev.isName() || prev.kind == tkRParen || prev.kind == tkRBracket):
		return false
	case t.kind == tkLParen && (prev.kind == tkQuotedIdent || prev.kind == tkIdent && !reservedKeywords[prev.val]):
		return false // f(x), t(a, b)
	case t.kind == tkOp && t.text == "::":
		return prev.kind == tkOp && prev.text == ":" // ": ::" must not become ":::"
	case prev.kind == tkOp && prev.text == "::":
		return false
	case t.kind == tkDot && prev.isName() && i+1 < len(toks) && dotTarget(toks[i+1]):
		return false
	case prev.kind == tkDot && dotTarget(t) && i >= 2 && toks[i-2].isName():
		return false
	}
	return true
}

// dotTarget reports whether t may follow the dot of a dotted name.
func dotTarget(t token) bool { return t.isName() || (t.kind == tkOp && t.text == "*") }
