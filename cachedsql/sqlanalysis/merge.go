package sqlanalysis

// parseMerge parses MERGE INTO [ONLY] target [[AS] alias] USING source ON
// condition WHEN … THEN … [RETURNING …]. The target is written; the source
// and subqueries in conditions and actions are read.
func (p *parser) parseMerge(sc *scope) {
	p.expectKw("merge")
	p.expectKw("into")
	p.write(p.parseRelationExpr())
	p.parseAlias()
	p.expectKw("using")
	p.parseFromItem(sc)
	p.expectKw("on")
	p.scanExpr(sc, mergeStops)
	if !p.isKw("when") {
		p.fail("expected WHEN in MERGE")
	}
	// WHEN [NOT] MATCHED [BY SOURCE|TARGET] [AND cond] THEN action: the
	// actions (UPDATE SET …, INSERT (…) VALUES (…), DELETE, DO NOTHING)
	// are scanned as expressions, which finds their subqueries.
	for p.acceptKw("when") || p.acceptKw("then") {
		if p.prev().is("then") {
			// The action's keywords, so that INSERT (…) and UPDATE
			// SET (…) are not mistaken for calls of functions named
			// insert or set.
			switch {
			case p.acceptKw("insert"), p.acceptKw("delete"), p.acceptSeq("do", "nothing"):
			case p.acceptKw("update"):
				p.expectKw("set")
			default:
				p.fail("expected INSERT, UPDATE, DELETE or DO NOTHING in MERGE")
			}
		}
		p.scanExpr(sc, mergeStops)
	}
	p.parseReturning(sc)
}
