package sqlanalysis

// parseInsert parses INSERT INTO name [AS alias] [(columns)] [OVERRIDING …
// VALUE] {DEFAULT VALUES | query} [ON CONFLICT …] [RETURNING …]. The
// target is written; the query and any subqueries are read.
func (p *parser) parseInsert(sc *scope) {
	p.expectKw("insert")
	p.expectKw("into")
	p.write(p.parseTableName())
	if p.acceptKw("as") {
		p.expectName()
	}
	if p.peek().kind == tkLParen && !p.startsQuery() {
		p.skipParens() // the column list
	}
	if p.acceptKw("overriding") {
		if !p.acceptKw("system") {
			p.expectKw("user")
		}
		p.expectKw("value")
	}
	if !p.acceptSeq("default", "values") {
		p.parseQuery(sc)
	}
	if p.acceptSeq("on", "conflict") {
		p.parseOnConflict(sc)
	}
	p.parseReturning(sc)
}

// parseOnConflict parses the rest of ON CONFLICT [(index elements) [WHERE
// …] | ON CONSTRAINT name] DO {NOTHING | UPDATE SET … [WHERE …]}.
func (p *parser) parseOnConflict(sc *scope) {
	switch {
	case p.peek().kind == tkLParen:
		p.skipParens() // index inference: columns and expressions, no subqueries
		if p.acceptKw("where") {
			p.scanExpr(sc, stopSet{words: wordSet("do")})
		}
	case p.acceptSeq("on", "constraint"):
		p.expectName()
	}
	p.expectKw("do")
	if p.acceptKw("nothing") {
		return
	}
	p.expectKw("update")
	p.expectKw("set")
	p.scanExpr(sc, clauseStops)
	if p.acceptKw("where") {
		p.scanExpr(sc, clauseStops)
	}
}

// parseReturning parses an optional RETURNING list.
func (p *parser) parseReturning(sc *scope) {
	if p.acceptKw("returning") {
		p.scanExpr(sc, clauseStops)
	}
}
