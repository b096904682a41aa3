package sqlanalysis

// tokenKind classifies a lexical token.
type tokenKind uint8

const (
	tkEOF         tokenKind = iota
	tkIdent                 // unquoted identifier or keyword; val is folded to lower case
	tkQuotedIdent           // "quoted" or U&"quoted" identifier; val is the unescaped name, case kept
	tkString                // any string literal: '…', E'…', B'…', X'…', N'…', U&'…', $tag$…$tag$; val is the content
	tkNumber                // numeric literal
	tkParam                 // placeholder: $1, ?, :name, @name
	tkOp                    // operator, including ::, :=, =>, and a lone : (array slice)
	tkLParen                // (
	tkRParen                // )
	tkLBracket              // [
	tkRBracket              // ]
	tkComma                 // ,
	tkSemicolon             // ;
	tkDot                   // .
)

// token is one lexical token. Comments and whitespace are not tokens.
type token struct {
	kind tokenKind
	text string // exactly as written in the source
	val  string // folded identifier, unescaped quoted identifier or string content
	pos  int    // byte offset of text in the source
}

// is reports whether t is the unquoted keyword or identifier kw (lower case).
func (t token) is(kw string) bool { return t.kind == tkIdent && t.val == kw }

// isName reports whether t can name something: an identifier, quoted or not.
func (t token) isName() bool { return t.kind == tkIdent || t.kind == tkQuotedIdent }

// describe renders t for error messages.
func (t token) describe() string {
	if t.kind == tkEOF {
		return "end of input"
	}
	return t.text
}
