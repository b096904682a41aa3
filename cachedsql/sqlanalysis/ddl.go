package sqlanalysis

import "strings"

// parseCreate parses CREATE statements. Creating or replacing a table,
// view, materialized view, sequence or foreign table writes it (a
// replaced view changes what reading it returns); CREATE INDEX writes the
// indexed table; a query in CREATE TABLE … AS or CREATE VIEW … AS is
// read. Creating any other object (function, trigger, rule, policy, type,
// …) may change what queries return in ways the analyzer cannot name: an
// unknown write.
func (p *parser) parseCreate(sc *scope) {
	p.expectKw("create")
	p.acceptSeq("or", "replace")
	for p.acceptKw("temporary") || p.acceptKw("temp") || p.acceptKw("unlogged") ||
		p.acceptKw("global") || p.acceptKw("local") {
	}
	switch {
	case p.acceptKw("table"):
		p.parseCreateTable(sc)
	case p.acceptSeq("foreign", "table"):
		p.parseCreateTable(sc)
	case p.acceptKw("view"):
		p.parseCreateView(sc, false)
	case p.acceptSeq("recursive", "view"):
		p.parseCreateView(sc, true)
	case p.acceptSeq("materialized", "view"):
		p.parseCreateView(sc, false)
	case p.acceptKw("sequence"):
		p.acceptSeq("if", "not", "exists")
		p.write(p.parseTableName())
		p.skipToEnd()
	case p.isKw("index") || p.isKw("unique") && p.peekN(1).is("index"):
		p.parseCreateIndex()
	default:
		p.unknownWrite("CREATE " + strings.ToUpper(p.peek().val))
		p.skipToEnd()
	}
}

// parseCreateTable parses the rest of CREATE [FOREIGN] TABLE [IF NOT
// EXISTS] name …: the name is written, and so are the parents named in
// PARTITION OF and INHERITS (their contents change); CREATE TABLE … AS
// query reads the query.
func (p *parser) parseCreateTable(sc *scope) {
	p.acceptSeq("if", "not", "exists")
	p.write(p.parseTableName())
	for !p.atEnd() {
		switch t := p.peek(); {
		case t.kind == tkLParen:
			p.skipParens()
		case t.is("partition") && p.peekN(1).is("of"):
			p.pos += 2
			p.write(p.parseTableName())
		case t.is("inherits"):
			p.pos++
			p.expect(tkLParen, "(")
			for {
				p.write(p.parseTableName())
				if !p.accept(tkComma) {
					break
				}
			}
			p.expect(tkRParen, ")")
		case t.is("as"):
			p.pos++
			if p.acceptKw("execute") {
				p.unknownWrite("CREATE TABLE AS EXECUTE")
				p.skipToEnd()
				return
			}
			p.parseQuery(sc)
			p.parseWithData()
		case t.kind == tkRParen:
			p.fail("unbalanced parentheses")
		default:
			p.pos++
		}
	}
}

// parseWithData consumes WITH [NO] DATA after CREATE … AS query.
func (p *parser) parseWithData() {
	if p.acceptKw("with") {
		p.acceptKw("no")
		p.expectKw("data")
	}
}

// parseCreateView parses the rest of CREATE [MATERIALIZED|RECURSIVE] VIEW
// [IF NOT EXISTS] name [(cols)] … AS query [WITH … CHECK OPTION | WITH
// [NO] DATA]. A recursive view sees its own name as a CTE.
func (p *parser) parseCreateView(sc *scope, recursive bool) {
	p.acceptSeq("if", "not", "exists")
	name := p.parseTableName()
	p.write(name)
	for !p.isKw("as") {
		switch t := p.peek(); {
		case t.kind == tkLParen:
			p.skipParens()
		case t.kind == tkEOF || t.kind == tkSemicolon || t.kind == tkRParen:
			p.fail("expected AS in CREATE VIEW")
		default:
			p.pos++
		}
	}
	p.pos++
	if recursive {
		sc = &scope{parent: sc, names: []string{name.Name}}
	}
	p.parseQuery(sc)
	if p.acceptKw("with") {
		if !p.acceptKw("cascaded") {
			p.acceptKw("local")
		}
		if p.acceptSeq("check", "option") {
			return
		}
		p.acceptKw("no")
		p.expectKw("data")
	}
}

// parseCreateIndex parses CREATE [UNIQUE] INDEX [CONCURRENTLY] [[IF NOT
// EXISTS] name] ON [ONLY] table …, which writes the table.
func (p *parser) parseCreateIndex() {
	for !p.acceptKw("on") {
		if p.atEnd() {
			p.fail("expected ON in CREATE INDEX")
		}
		p.pos++
	}
	p.write(p.parseRelationExpr())
	p.skipToEnd()
}

// tableObject reports whether the next words name a relation kind whose
// ALTER and DROP write the relation: TABLE, VIEW, MATERIALIZED VIEW,
// SEQUENCE, FOREIGN TABLE. It consumes them.
func (p *parser) tableObject() bool {
	return p.acceptKw("table") || p.acceptKw("view") || p.acceptKw("sequence") ||
		p.acceptSeq("materialized", "view") || p.acceptSeq("foreign", "table")
}

// parseAlter parses ALTER TABLE|VIEW|MATERIALIZED VIEW|SEQUENCE|FOREIGN
// TABLE [IF EXISTS] [ONLY] name …, which writes the relation and any
// partition it attaches or detaches. Altering anything else (an index, a
// function, a type, the system, …) is an unknown write.
func (p *parser) parseAlter() {
	p.expectKw("alter")
	verb := p.peek()
	if !p.tableObject() || p.isKw("all") {
		p.unknownWrite("ALTER " + strings.ToUpper(verb.val))
		p.skipToEnd()
		return
	}
	p.acceptSeq("if", "exists")
	p.write(p.parseRelationExpr())
	for !p.atEnd() {
		switch t := p.peek(); {
		case (t.is("attach") || t.is("detach")) && p.peekN(1).is("partition"):
			p.pos += 2
			p.write(p.parseTableName())
		case t.kind == tkLParen:
			p.skipParens()
		case t.kind == tkRParen:
			p.fail("unbalanced parentheses")
		default:
			p.pos++
		}
	}
}

// parseDrop parses DROP TABLE|VIEW|MATERIALIZED VIEW|SEQUENCE|FOREIGN
// TABLE [IF EXISTS] name, … [CASCADE|RESTRICT], which writes the named
// relations; CASCADE also drops dependent objects the analyzer cannot
// name, an unknown write. Dropping anything else is an unknown write.
func (p *parser) parseDrop() {
	p.expectKw("drop")
	verb := p.peek()
	if !p.tableObject() {
		p.unknownWrite("DROP " + strings.ToUpper(verb.val))
		p.skipToEnd()
		return
	}
	p.acceptSeq("if", "exists")
	for {
		p.write(p.parseTableName())
		if !p.accept(tkComma) {
			break
		}
	}
	if p.acceptKw("cascade") {
		p.unknownWrite("DROP … CASCADE")
	} else {
		p.acceptKw("restrict")
	}
}

// parseRefresh parses REFRESH MATERIALIZED VIEW [CONCURRENTLY] name [WITH
// [NO] DATA], which rewrites the view's contents.
func (p *parser) parseRefresh() {
	p.expectKw("refresh")
	p.expectKw("materialized")
	p.expectKw("view")
	p.acceptKw("concurrently")
	p.write(p.parseTableName())
	p.parseWithData()
}
