package sqlanalysis

// parseDelete parses DELETE FROM [ONLY] name [*] [[AS] alias] [USING …]
// [WHERE …] [RETURNING …]. The target is written; USING items and
// subqueries are read.
func (p *parser) parseDelete(sc *scope) {
	p.expectKw("delete")
	p.expectKw("from")
	p.write(p.parseRelationExpr())
	p.parseAlias()
	if p.acceptKw("using") {
		p.parseFromList(sc)
	}
	if p.acceptKw("where") {
		p.scanExpr(sc, clauseStops)
	}
	p.parseReturning(sc)
}
