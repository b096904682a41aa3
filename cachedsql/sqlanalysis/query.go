package sqlanalysis

import "strings"

// parsePreparable parses a statement that may appear inside WITH, EXPLAIN
// or COPY (…): [WITH …] followed by a query or a data-modifying statement.
// It returns the kind of the main statement.
func (p *parser) parsePreparable(sc *scope) Kind {
	if p.isKw("with") {
		sc = p.parseWith(sc)
	}
	switch t := p.peek(); {
	case t.is("insert"):
		p.parseInsert(sc)
		return Insert
	case t.is("update"):
		p.parseUpdate(sc)
		return Update
	case t.is("delete"):
		p.parseDelete(sc)
		return Delete
	case t.is("merge"):
		p.parseMerge(sc)
		return Merge
	}
	p.parseQueryBody(sc)
	return Select
}

// parseQuery parses a query: [WITH …] then SELECT, VALUES, TABLE or a
// parenthesized query, with set operations, ORDER BY, LIMIT, OFFSET, FETCH
// and locking clauses.
func (p *parser) parseQuery(sc *scope) {
	if p.isKw("with") {
		sc = p.parseWith(sc)
	}
	p.parseQueryBody(sc)
}

// parseQueryBody is parseQuery after any WITH clause.
func (p *parser) parseQueryBody(sc *scope) {
	p.enter()
	defer p.leave()
	p.parseSetOperand(sc)
	for {
		switch t := p.peek(); {
		case t.is("union") || t.is("intersect") || t.is("except"):
			p.pos++
			if !p.acceptKw("all") {
				p.acceptKw("distinct")
			}
			p.parseSetOperand(sc)
		case t.is("order") && p.peekN(1).is("by"):
			p.pos += 2
			p.scanExpr(sc, tailStops)
		case t.is("limit") || t.is("offset") || t.is("fetch"):
			p.pos++
			p.scanExpr(sc, tailStops)
		case t.is("for"):
			p.parseLocking()
		default:
			return
		}
	}
}

// parseSetOperand parses one operand of UNION/INTERSECT/EXCEPT.
func (p *parser) parseSetOperand(sc *scope) {
	switch t := p.peek(); {
	case t.kind == tkLParen:
		p.pos++
		p.parseQuery(sc)
		p.expect(tkRParen, ")")
	case t.is("select"):
		p.parseSelect(sc)
	case t.is("values"):
		p.pos++
		if p.peek().kind != tkLParen {
			p.fail("expected ( after VALUES")
		}
		p.scanExpr(sc, tailStops)
	case t.is("table"):
		p.pos++
		p.read(p.parseRelationExpr(), sc)
	default:
		p.fail("expected SELECT, VALUES, TABLE or (")
	}
}

// parseSelect parses SELECT … [INTO …] [FROM …] [WHERE …] [GROUP BY …]
// [HAVING …] [WINDOW …], up to a set operation or a trailing clause.
func (p *parser) parseSelect(sc *scope) {
	// A subquery's clauses are not its enclosing GROUP BY.
	defer func(saved bool) { p.inGroupBy = saved }(p.inGroupBy)
	p.inGroupBy = false
	p.expectKw("select")
	if p.acceptKw("distinct") {
		if p.acceptKw("on") {
			p.parenExpr(sc)
		}
	} else {
		p.acceptKw("all")
	}
	// The select list comes first; after it only clauses may follow, so
	// that nothing the parser does not understand is skipped as if it
	// were an expression (it might hide a table).
	p.scanExpr(sc, clauseStops)
	for {
		t := p.peek()
		switch {
		case t.is("from"):
			p.pos++
			p.parseFromList(sc)
		case t.is("where") || t.is("having") || t.is("window"):
			p.pos++
			p.scanExpr(sc, clauseStops)
		case t.is("group") && p.peekN(1).is("by"):
			p.pos += 2
			if !p.acceptKw("all") {
				p.acceptKw("distinct")
			}
			p.inGroupBy = true
			p.scanExpr(sc, clauseStops)
			p.inGroupBy = false
		case t.is("into"):
			p.pos++
			p.parseSelectInto()
		case p.stops(clauseStops, t):
			return
		default:
			p.fail("unexpected token in SELECT")
		}
	}
}

// parseSelectInto parses the target of SELECT … INTO, which creates a table.
func (p *parser) parseSelectInto() {
	for p.acceptKw("temporary") || p.acceptKw("temp") || p.acceptKw("unlogged") ||
		p.acceptKw("global") || p.acceptKw("local") {
	}
	p.acceptKw("table")
	p.write(p.parseTableName())
	p.res.selectInto = true
	p.notCacheable("SELECT INTO")
}

// parseLocking parses FOR UPDATE | NO KEY UPDATE | SHARE | KEY SHARE
// [OF …] [NOWAIT | SKIP LOCKED], and FOR READ ONLY.
func (p *parser) parseLocking() {
	p.expectKw("for")
	var mode string
	switch {
	case p.acceptKw("update"):
		mode = "UPDATE"
	case p.acceptSeq("no", "key", "update"):
		mode = "NO KEY UPDATE"
	case p.acceptKw("share"):
		mode = "SHARE"
	case p.acceptSeq("key", "share"):
		mode = "KEY SHARE"
	case p.acceptSeq("read", "only"):
		return
	default:
		p.fail("expected UPDATE, NO KEY UPDATE, SHARE or KEY SHARE after FOR")
	}
	p.notCacheable("FOR " + mode)
	if p.acceptKw("of") {
		// The names after OF are FROM items already read, often aliases.
		for {
			if !p.peek().isName() {
				p.fail("expected a table name after OF")
			}
			p.pos++
			for p.peek().kind == tkDot && p.peekN(1).isName() {
				p.pos += 2
			}
			if !p.accept(tkComma) {
				break
			}
		}
	}
	if !p.acceptKw("nowait") {
		p.acceptSeq("skip", "locked")
	}
}

// parseWith parses WITH [RECURSIVE] name [(cols)] AS [[NOT] MATERIALIZED]
// (statement) [SEARCH …] [CYCLE …], … and returns the scope in which the
// CTE names shadow tables.
func (p *parser) parseWith(sc *scope) *scope {
	p.expectKw("with")
	recursive := p.acceptKw("recursive")
	ns := &scope{parent: sc}
	if recursive {
		// Every CTE of a WITH RECURSIVE list can see all of them.
		ns.names = p.prescanCTENames()
	}
	for {
		name := p.parseCTEName()
		if p.peek().kind == tkLParen {
			p.skipParens()
		}
		p.expectKw("as")
		if p.acceptKw("not") {
			p.expectKw("materialized")
		} else {
			p.acceptKw("materialized")
		}
		p.expect(tkLParen, "(")
		// The body sees the CTEs before it (all of them if recursive); the
		// full slice expression keeps later appends out of its view.
		body := &scope{parent: ns.parent, names: ns.names[:len(ns.names):len(ns.names)]}
		if kind := p.parsePreparable(body); kind != Select {
			p.notCacheable("data-modifying WITH (" + strings.ToUpper(kind.String()) + ")")
		}
		p.expect(tkRParen, ")")
		p.skipSearchCycle()
		if !recursive {
			ns.names = append(ns.names, name)
		}
		if !p.accept(tkComma) {
			return ns
		}
	}
}

func (p *parser) parseCTEName() string {
	t := p.peek()
	if !canStartName(t) {
		p.fail("expected a WITH query name")
	}
	p.pos++
	return nameValue(t)
}

// prescanCTENames collects the names of a WITH RECURSIVE list without
// consuming it.
func (p *parser) prescanCTENames() []string {
	save := p.pos
	defer func() { p.pos = save }()
	var names []string
	for {
		names = append(names, p.parseCTEName())
		if p.peek().kind == tkLParen {
			p.skipParens()
		}
		p.expectKw("as")
		if p.acceptKw("not") {
			p.expectKw("materialized")
		} else {
			p.acceptKw("materialized")
		}
		p.skipParens()
		p.skipSearchCycle()
		if !p.accept(tkComma) {
			return names
		}
	}
}

// skipSearchCycle consumes the SEARCH and CYCLE clauses of a recursive CTE.
func (p *parser) skipSearchCycle() {
	names := func() {
		for {
			if !p.peek().isName() {
				p.fail("expected a column name")
			}
			p.pos++
			if !p.accept(tkComma) {
				return
			}
		}
	}
	if p.acceptKw("search") {
		if !p.acceptKw("depth") {
			p.expectKw("breadth")
		}
		p.expectKw("first")
		p.expectKw("by")
		names()
		p.expectKw("set")
		names()
	}
	if p.acceptKw("cycle") {
		names()
		p.expectKw("set")
		names()
		if p.acceptKw("to") {
			p.pos++
			p.expectKw("default")
			p.pos++
		}
		p.expectKw("using")
		names()
	}
}
