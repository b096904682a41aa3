package sqlanalysis

// parseUpdate parses UPDATE [ONLY] name [*] [[AS] alias] SET … [FROM …]
// [WHERE … | WHERE CURRENT OF cursor] [RETURNING …]. The target is
// written; FROM items and subqueries are read.
func (p *parser) parseUpdate(sc *scope) {
	p.expectKw("update")
	p.write(p.parseRelationExpr())
	p.parseAlias()
	p.expectKw("set")
	p.scanExpr(sc, clauseStops)
	if p.acceptKw("from") {
		p.parseFromList(sc)
	}
	if p.acceptKw("where") {
		p.scanExpr(sc, clauseStops)
	}
	p.parseReturning(sc)
}
