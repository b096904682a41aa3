package sqlanalysis

// utilityVerbs start statements that neither return cacheable data nor
// change table data. Their arguments are not analysed.
var utilityVerbs = wordSet(`set show reset begin start commit end rollback
	abort savepoint release listen unlisten notify vacuum analyze analyse lock
	prepare deallocate discard checkpoint load fetch move close comment
	reindex cluster`)

// unknownVerbs start statements that may write anything.
var unknownVerbs = wordSet(`call do execute`)

// parseExplain parses EXPLAIN [ANALYZE] [VERBOSE] statement and EXPLAIN
// (option [value], …) statement. Without ANALYZE the statement is only
// planned: nothing is read or written. With ANALYZE it runs, so it writes
// what the statement writes.
func (p *parser) parseExplain(sc *scope) {
	p.expectKw("explain")
	analyze := false
	if p.peek().kind == tkLParen && !p.startsQuery() {
		p.pos++
		for {
			opt := p.peek()
			if !opt.isName() {
				p.fail("expected an EXPLAIN option")
			}
			p.pos++
			on := true
			if v := p.peek(); v.kind != tkComma && v.kind != tkRParen {
				p.pos++
				switch v.val {
				case "false", "off", "0":
					on = false
				}
				if v.kind == tkNumber && v.text == "0" {
					on = false
				}
			}
			if opt.is("analyze") || opt.is("analyse") {
				analyze = on
			}
			if !p.accept(tkComma) {
				break
			}
		}
		p.expect(tkRParen, ")")
	} else {
		analyze = p.acceptKw("analyze") || p.acceptKw("analyse")
		p.acceptKw("verbose")
	}
	outer := p.res
	inner := &stmtResult{}
	p.res = inner
	p.parseStatement(sc)
	p.res = outer
	if analyze {
		outer.reads = append(outer.reads, inner.reads...)
		outer.writes = append(outer.writes, inner.writes...)
		outer.unknownWrite = outer.unknownWrite || inner.unknownWrite
	}
}

// parseDeclare parses DECLARE name [BINARY] [ASENSITIVE | INSENSITIVE]
// [[NO] SCROLL] CURSOR [WITH[OUT] HOLD] FOR query: the query is read, but a
// cursor is not cacheable.
func (p *parser) parseDeclare(sc *scope) {
	p.expectKw("declare")
	for !p.acceptKw("for") {
		if p.atEnd() {
			p.fail("expected FOR in DECLARE")
		}
		p.pos++
	}
	p.parseQuery(sc)
}
