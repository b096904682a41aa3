package sqlanalysis

// parseFromList parses the FROM items of SELECT, UPDATE … FROM and
// DELETE … USING, separated by commas.
func (p *parser) parseFromList(sc *scope) {
	for {
		p.parseFromItem(sc)
		if !p.accept(tkComma) {
			return
		}
	}
}

// parseFromItem parses a FROM item and the joins chained to it. It accepts
// join conditions wherever they may close a join, which also covers nested
// forms such as a JOIN b JOIN c ON … ON ….
func (p *parser) parseFromItem(sc *scope) {
	p.enter()
	defer p.leave()
	p.parseFromPrimary(sc)
	// open counts joins still waiting for their ON or USING.
	open := 0
	for {
		t := p.peek()
		switch {
		case isJoinStart(t, p.peekN(1)):
			if p.parseJoinType() {
				open++
			}
			p.parseFromPrimary(sc)
		case t.is("on") && open > 0:
			open--
			p.pos++
			p.scanExpr(sc, joinStops)
		case t.is("using") && open > 0 && p.peekN(1).kind == tkLParen:
			open--
			p.pos++
			p.skipParens()
			if p.acceptKw("as") {
				p.expectName()
			}
		case open > 0:
			p.fail("expected ON or USING after JOIN")
		default:
			return
		}
	}
}

// parseJoinType consumes [NATURAL] [INNER | CROSS | LEFT|RIGHT|FULL
// [OUTER]] JOIN and reports whether the join needs an ON or USING clause
// (all but CROSS and NATURAL joins do).
func (p *parser) parseJoinType() (needsQual bool) {
	needsQual = !p.acceptKw("natural")
	switch {
	case p.acceptKw("cross"):
		needsQual = false
	case p.acceptKw("inner"):
	case p.acceptKw("left"), p.acceptKw("right"), p.acceptKw("full"):
		p.acceptKw("outer")
	}
	p.expectKw("join")
	return needsQual
}

// parseFromPrimary parses one FROM item: a table, a subquery, a
// parenthesized join, or a table function, with its alias.
func (p *parser) parseFromPrimary(sc *scope) {
	p.acceptKw("lateral")
	t := p.peek()
	switch {
	case t.kind == tkLParen:
		p.pos++
		if p.startsQuery() {
			p.parseQuery(sc)
		} else {
			p.parseFromItem(sc)
		}
		p.expect(tkRParen, ")")
		p.parseAlias()
	case t.is("rows") && p.peekN(1).is("from"):
		p.pos += 2
		p.parenExpr(sc) // the function calls inside are checked
		p.acceptSeq("with", "ordinality")
		p.parseAlias()
	case t.is("only"):
		p.read(p.parseRelationExpr(), sc)
		p.parseAlias()
		p.parseTablesample(sc)
	case canStartName(t):
		if name, ok := p.functionAhead(); ok {
			p.funcCall(sc, name)
			p.acceptSeq("with", "ordinality")
			p.parseAlias()
			return
		}
		p.read(p.parseRelationExpr(), sc)
		p.parseAlias()
		p.parseTablesample(sc)
	default:
		p.fail("expected a table, subquery or function in FROM")
	}
}

// startsQuery reports whether the tokens from here, past any opening
// parentheses, start a query rather than a parenthesized join.
func (p *parser) startsQuery() bool {
	if p.pos >= p.parenRunStart && p.pos < p.parenRunEnd {
		return p.parenRunQuery
	}
	i := p.pos
	for i < len(p.toks) && p.toks[i].kind == tkLParen {
		i++
	}
	t := eofToken
	if i < len(p.toks) {
		t = p.toks[i]
	}
	p.parenRunStart, p.parenRunEnd = p.pos, i
	p.parenRunQuery = t.is("select") || t.is("values") || t.is("table") || t.is("with")
	return p.parenRunQuery
}

// functionAhead reports whether a (possibly qualified) function call comes
// next; if so it consumes the name and returns its lookup key.
func (p *parser) functionAhead() (string, bool) {
	parts := []string{nameValue(p.peek())}
	i := 1
	for p.peekN(i).kind == tkDot && p.peekN(i+1).isName() {
		parts = append(parts, nameValue(p.peekN(i+1)))
		i += 2
	}
	if p.peekN(i).kind != tkLParen {
		return "", false
	}
	p.pos += i
	if len(parts) == 1 {
		return parts[0], true
	}
	return qualifiedFunctionName(parts), true
}

// parseRelationExpr parses [ONLY] name [*] or ONLY (name).
func (p *parser) parseRelationExpr() Table {
	only := p.acceptKw("only")
	if only && p.peek().kind == tkLParen {
		p.pos++
		t := p.parseTableName()
		p.expect(tkRParen, ")")
		return t
	}
	t := p.parseTableName()
	if tok := p.peek(); tok.kind == tkOp && tok.text == "*" && !only {
		p.pos++
	}
	return t
}

// parseAlias consumes [AS] alias [(columns or column definitions)] and
// AS (column definitions) after a function.
func (p *parser) parseAlias() {
	switch {
	case p.acceptKw("as"):
		if p.peek().kind != tkLParen {
			p.expectName()
		}
	case canBeAlias(p.peek()):
		p.pos++
	default:
		return
	}
	if p.peek().kind == tkLParen {
		p.skipParens()
	}
}

// expectName consumes an identifier, quoted or not (keywords allowed).
func (p *parser) expectName() {
	if !p.peek().isName() {
		p.fail("expected a name")
	}
	p.pos++
}

// parseTablesample consumes TABLESAMPLE method (args) [REPEATABLE (seed)].
func (p *parser) parseTablesample(sc *scope) {
	if !p.acceptKw("tablesample") {
		return
	}
	p.notCacheable("TABLESAMPLE")
	p.expectName()
	for p.peek().kind == tkDot && p.peekN(1).isName() {
		p.pos += 2
	}
	p.parenExpr(sc)
	if p.acceptKw("repeatable") {
		p.parenExpr(sc)
	}
}
