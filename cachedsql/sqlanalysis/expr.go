package sqlanalysis

import "strings"

// stopSet lists what ends an expression in a given clause, at parenthesis
// depth zero. A closing parenthesis, a semicolon and the end of input always
// end one.
type stopSet struct {
	words map[string]bool // unquoted keywords
	comma bool            // a comma ends the expression
	joins bool            // JOIN and the join types end the expression
}

var (
	// noStops is for expressions inside parentheses.
	noStops = stopSet{}
	// clauseStops end the select list and the WHERE, GROUP BY, HAVING,
	// WINDOW, SET and RETURNING clauses.
	clauseStops = stopSet{words: wordSet(`from where group having window into
		union intersect except order limit offset fetch for on returning with`)}
	// tailStops end ORDER BY, LIMIT, OFFSET and FETCH, and VALUES lists.
	tailStops = stopSet{words: wordSet(`union intersect except order limit
		offset fetch for on returning with`)}
	// joinStops end a JOIN … ON condition.
	joinStops = stopSet{words: wordSet(`from where group having window into
		union intersect except order limit offset fetch for on returning with
		when using`), comma: true, joins: true}
	// mergeStops end the conditions and actions of MERGE.
	mergeStops = stopSet{words: wordSet(`when then returning`)}
	// caseStops end the inside of CASE … END.
	caseStops = stopSet{words: wordSet(`end`)}
)

// stops reports whether t ends an expression under s.
func (p *parser) stops(s stopSet, t token) bool {
	switch t.kind {
	case tkEOF, tkSemicolon, tkRParen:
		return true
	case tkComma:
		return s.comma
	case tkIdent:
		if s.words[t.val] {
			if t.val == "with" {
				// WITH TIME ZONE, WITH TIES and WITH ORDINALITY continue.
				next := p.peekN(1)
				return !next.is("time") && !next.is("ties") && !next.is("ordinality")
			}
			return true
		}
		if s.joins {
			return isJoinStart(t, p.peekN(1))
		}
	}
	return false
}

// isJoinStart reports whether t (followed by next) starts a join clause.
func isJoinStart(t, next token) bool {
	switch t.val {
	case "join", "inner", "cross", "natural":
		return t.kind == tkIdent
	case "left", "right", "full":
		return t.kind == tkIdent && (next.is("join") || next.is("outer"))
	}
	return false
}

// scanExpr consumes an expression, or a list of them, up to a token that
// stops it under s. It recurses into parentheses and subqueries, checks
// every function call against the function policy, and looks at literals.
func (p *parser) scanExpr(sc *scope, s stopSet) {
	p.enter()
	defer p.leave()
	for {
		t := p.peek()
		if p.stops(s, t) {
			return
		}
		switch t.kind {
		case tkComma, tkNumber, tkParam, tkLBracket, tkRBracket:
			p.pos++
		case tkLParen:
			p.parenExpr(sc)
		case tkDot:
			p.pos++
			// After a dot comes a field name or *, never a keyword.
			if p.peek().isName() {
				p.pos++
			}
		case tkString:
			p.checkLiteral(t)
			p.pos++
		case tkOp:
			p.pos++
			if t.text == "::" {
				p.typeName()
			}
		case tkIdent, tkQuotedIdent:
			p.nameInExpr(sc, s)
		default:
			p.fail("unexpected token in expression")
		}
	}
}

// parenExpr consumes ( … ) in an expression: a subquery, a row, or a
// nested expression.
func (p *parser) parenExpr(sc *scope) {
	p.expect(tkLParen, "(")
	p.scanExpr(sc, noStops)
	p.expect(tkRParen, ")")
}

// nameInExpr consumes a keyword, column reference or function call.
func (p *parser) nameInExpr(sc *scope, s stopSet) {
	t := p.peek()
	next := p.peekN(1)
	if t.kind == tkIdent {
		switch t.val {
		case "case":
			p.pos++
			p.scanExpr(sc, caseStops)
			p.expectKw("end")
			return
		case "is":
			p.pos++
			p.acceptKw("not")
			if p.isKw("distinct") && p.peekN(1).is("from") {
				p.pos += 2
			}
			return
		case "as":
			p.pos++
			if p.peek().isName() {
				p.pos++ // a column label, which may be any keyword
			}
			return
		case "select", "table":
			p.subqueryInExpr(sc)
			return
		case "with":
			switch {
			case isCTEStart(next, p.peekN(2)):
				p.subqueryInExpr(sc)
			case next.is("time") || next.is("ties") || next.is("ordinality"):
				p.pos += 2
			default:
				p.pos++
			}
			return
		}
		if sqlValueFunctions[t.val] && next.kind != tkLParen {
			p.pos++
			p.callFunction(t.val)
			return
		}
	}
	if next.kind == tkLParen && isFunctionName(t, p.prev(), p.groupingElement()) {
		p.pos++
		p.funcCall(sc, nameValue(t))
		return
	}
	if next.kind == tkDot {
		// A qualified name: a column (t.col, s.t.col, t.*) or a function
		// (schema.fn(…)).
		parts := []string{nameValue(t)}
		p.pos++
		for p.peek().kind == tkDot {
			p.pos++
			if !p.peek().isName() {
				return // t.* or a syntax error the server will report
			}
			parts = append(parts, nameValue(p.peek()))
			p.pos++
		}
		if p.peek().kind == tkLParen {
			p.funcCall(sc, qualifiedFunctionName(parts))
		}
		return
	}
	p.pos++
}

// prev returns the token before the next one.
func (p *parser) prev() token {
	if p.pos > 0 && p.pos <= len(p.toks) {
		return p.toks[p.pos-1]
	}
	return eofToken
}

// groupingElement reports whether the next token starts an element of a
// GROUP BY list (or of the GROUPING SETS, CUBE and ROLLUP in it).
func (p *parser) groupingElement() bool {
	if !p.inGroupBy {
		return false
	}
	prev := p.prev()
	return prev.kind == tkComma || prev.kind == tkLParen || prev.is("by") || prev.is("all") || prev.is("distinct")
}

// isCTEStart reports whether WITH followed by a and b starts a WITH query
// (WITH RECURSIVE, WITH name AS, WITH name (cols)) rather than WITH TIME
// ZONE, WITH ORDINALITY, WITH TIES, WITH DATA, WITH CHECK OPTION, ….
func isCTEStart(a, b token) bool {
	if a.is("recursive") {
		return true
	}
	return a.isName() && (b.is("as") || b.kind == tkLParen)
}

// subqueryInExpr parses a query that starts inside an expression's
// parentheses: (SELECT …), (TABLE t), (WITH … SELECT …), or the SELECT
// after UNION in ((SELECT …) UNION SELECT …). The query must run to the
// closing parenthesis.
func (p *parser) subqueryInExpr(sc *scope) {
	p.parsePreparable(sc)
	if p.peek().kind != tkRParen {
		p.fail("unexpected token after subquery")
	}
}

// qualifiedFunctionName is the lookup key of a schema-qualified function:
// pg_catalog functions are the built-ins.
func qualifiedFunctionName(parts []string) string {
	if len(parts) == 2 && parts[0] == "pg_catalog" {
		return parts[1]
	}
	return strings.Join(parts, ".")
}

// funcCall consumes the argument list of the function name, which has been
// consumed, and what may follow the call: WITHIN GROUP (…).
func (p *parser) funcCall(sc *scope, name string) {
	p.callFunction(name)
	p.expect(tkLParen, "(")
	switch name {
	case "cast", "treat":
		p.scanExpr(sc, stopSet{words: wordSet("as")})
		p.expectKw("as")
		p.typeName()
	}
	p.scanExpr(sc, noStops)
	p.expect(tkRParen, ")")
	if p.isKw("within") && p.peekN(1).is("group") {
		p.pos += 2
		p.parenExpr(sc)
	}
}

// callFunction applies the function policy to a call of name.
func (p *parser) callFunction(name string) {
	class := p.an.classify(name)
	prefix := ""
	if class == funcUnlisted {
		class = p.an.unlisted
		prefix = "unknown "
	}
	switch class {
	case funcSafe:
	case funcVolatile:
		if prefix == "" {
			prefix = "volatile "
		}
		p.notCacheable(prefix + "function " + name + "()")
	case funcTimeZone:
		if p.an.zoneInKey && name != "age" {
			return
		}
		p.notCacheable("time-zone-dependent function " + name + "()")
	default:
		if prefix == "" {
			p.unknownWrite("function " + name + "() may write")
		} else {
			p.unknownWrite(prefix + "function " + name + "()")
		}
	}
}

// timeWords are the special date/time input strings that mean "the
// current time": 'now'::timestamptz, created_at > 'today'.
var timeWords = wordSet("now today tomorrow yesterday")

// maxDateContent bounds the letters and digits a date/time literal can
// hold: PostgreSQL parses one into a buffer of MAXDATELEN + MAXDATEFIELDS
// (153) bytes and rejects anything longer, but it skips white space and
// punctuation without storing them, so only letters and digits count.
const maxDateContent = 153

// checkLiteral marks the statement uncacheable when a string literal may be
// read as the current time. Any literal that could be a date and contains
// one of timeWords counts, because an untyped literal compared with a date
// column is converted implicitly, without a cast the analyzer could see.
// PostgreSQL's date/time parser reads each run of letters as a word and
// skips white space and punctuation, so 'now()', 'today,12:00' and 'now'
// padded with any number of spaces all mean the current time: the words
// are split at every non-letter, and the length bound counts letters and
// digits only.
func (p *parser) checkLiteral(t token) {
	content := 0
	for i := 0; i < len(t.val); i++ {
		if c := t.val[i] | 0x20; (c >= 'a' && c <= 'z') || isDigit(t.val[i]) {
			content++
		}
	}
	if content > maxDateContent {
		return
	}
	words := strings.FieldsFunc(strings.ToLower(t.val), func(r rune) bool { return r < 'a' || r > 'z' })
	for _, w := range words {
		if timeWords[w] {
			p.notCacheable("time-dependent literal " + t.text)
			return
		}
	}
}

// typeName consumes a type name after :: or CAST(… AS: int, text[],
// numeric(10,2), double precision, character varying(20), timestamp(3)
// with time zone, interval day to second, schema.type, SETOF t, "T".
func (p *parser) typeName() {
	p.acceptKw("setof")
	first := p.peek()
	if !first.isName() {
		p.fail("expected a type name")
	}
	p.pos++
	for p.peek().kind == tkDot && p.peekN(1).isName() {
		p.pos += 2
	}
	if first.kind == tkIdent {
		switch first.val {
		case "double":
			p.acceptKw("precision")
		case "national":
			if !p.acceptKw("character") {
				p.acceptKw("char")
			}
			p.acceptKw("varying")
		case "character", "char", "nchar", "bit":
			p.acceptKw("varying")
		case "interval":
			for p.acceptKw("year") || p.acceptKw("month") || p.acceptKw("day") ||
				p.acceptKw("hour") || p.acceptKw("minute") || p.acceptKw("second") || p.acceptKw("to") {
			}
		}
	}
	if p.peek().kind == tkLParen {
		p.skipParens()
	}
	if first.is("timestamp") || first.is("time") {
		if (p.isKw("with") || p.isKw("without")) && p.peekN(1).is("time") && p.peekN(2).is("zone") {
			p.pos += 3
		}
	}
	for {
		switch {
		case p.peek().kind == tkLBracket:
			p.pos++
			p.accept(tkNumber)
			p.expect(tkRBracket, "]")
		case p.isKw("array"):
			p.pos++
		default:
			return
		}
	}
}
