package sqlanalysis

import "strings"

// Analyze reports which tables sql reads and writes, whether its result may
// be cached, its placeholders and its normalized text. sql may hold several
// statements separated by semicolons.
//
// On error (wrapping [ErrSyntax]) the returned Analysis is still non-nil
// and conservative: Kind Unknown, UnknownWrite set, not cacheable, so a
// caller that only needs to know what to invalidate can use it as is.
func (a *Analyzer) Analyze(sql string) (*Analysis, error) {
	toks, err := lex(sql)
	if err != nil {
		return failedAnalysis(err, nil), err
	}
	stmts, err := a.parse(toks)
	if err != nil {
		return failedAnalysis(err, toks), err
	}
	an := combine(stmts)
	an.Placeholders = placeholders(toks)
	an.Normalized = normalizeTokens(toks)
	return an, nil
}

// failedAnalysis is the conservative answer for a string that could not
// be analysed.
func failedAnalysis(err error, toks []token) *Analysis {
	an := &Analysis{Kind: Unknown, UnknownWrite: true, Reason: "cannot analyse: " + err.Error()}
	if toks != nil {
		an.Placeholders = placeholders(toks)
		an.Normalized = normalizeTokens(toks)
	}
	return an
}

func placeholders(toks []token) []string {
	var ps []string
	for _, t := range toks {
		if t.kind == tkParam {
			ps = append(ps, t.text)
		}
	}
	return ps
}

// parse analyses each statement in toks.
func (a *Analyzer) parse(toks []token) (stmts []*stmtResult, err error) {
	p := &parser{toks: toks, an: a}
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bail)
			if !ok {
				panic(r)
			}
			stmts, err = nil, b.err
		}
	}()
	for {
		for p.accept(tkSemicolon) {
		}
		if p.peek().kind == tkEOF {
			return stmts, nil
		}
		p.res = &stmtResult{}
		p.parseStatement(nil)
		if !p.atEnd() {
			p.fail("unexpected token at end of statement")
		}
		stmts = append(stmts, p.res)
	}
}

// parseStatement dispatches on the statement's first keyword and records
// its kind, and why it is not cacheable when that follows from the kind.
func (p *parser) parseStatement(sc *scope) {
	t := p.peek()
	verb := strings.ToUpper(t.val)
	res := p.res
	switch {
	case t.kind == tkLParen || t.is("select") || t.is("values") || t.is("table"):
		res.kind = Select
		p.parseQuery(sc)
	case t.is("with"):
		sc = p.parseWith(sc)
		res.kind = p.parsePreparableAfterWith(sc)
	case t.is("insert"):
		res.kind = Insert
		p.notCacheable("INSERT statement")
		p.parseInsert(sc)
	case t.is("update"):
		res.kind = Update
		p.notCacheable("UPDATE statement")
		p.parseUpdate(sc)
	case t.is("delete"):
		res.kind = Delete
		p.notCacheable("DELETE statement")
		p.parseDelete(sc)
	case t.is("merge"):
		res.kind = Merge
		p.notCacheable("MERGE statement")
		p.parseMerge(sc)
	case t.is("truncate"):
		res.kind = Truncate
		p.notCacheable("TRUNCATE statement")
		p.parseTruncate()
	case t.is("copy"):
		res.kind = Copy
		p.notCacheable("COPY statement")
		p.parseCopy(sc)
	case t.is("create"):
		res.kind = DDL
		p.notCacheable("CREATE statement")
		p.parseCreate(sc)
	case t.is("alter"):
		res.kind = DDL
		p.notCacheable("ALTER statement")
		p.parseAlter()
	case t.is("drop"):
		res.kind = DDL
		p.notCacheable("DROP statement")
		p.parseDrop()
	case t.is("refresh"):
		res.kind = DDL
		p.notCacheable("REFRESH statement")
		p.parseRefresh()
	case t.is("grant") || t.is("revoke") || t.is("security") || t.is("import") || t.is("reassign"):
		// Privileges, labels and imported foreign tables change what
		// queries may see.
		res.kind = DDL
		p.unknownWrite(verb + " statement")
		p.skipToEnd()
	case t.is("explain"):
		res.kind = Utility
		p.notCacheable("EXPLAIN statement")
		p.parseExplain(sc)
	case t.is("declare"):
		res.kind = Utility
		p.notCacheable("DECLARE statement")
		p.parseDeclare(sc)
	case t.kind == tkIdent && utilityVerbs[t.val]:
		res.kind = Utility
		p.notCacheable(verb + " statement")
		p.txControl()
		p.skipToEnd()
	case t.kind == tkIdent && unknownVerbs[t.val]:
		res.kind = Unknown
		p.unknownWrite(verb + " statement")
		p.skipToEnd()
	case t.kind == tkIdent:
		res.kind = Unknown
		p.unknownWrite("unknown statement " + verb)
		p.skipToEnd()
	default:
		p.fail("expected a statement")
	}
	if res.selectInto && res.kind == Select {
		res.kind = DDL
	}
}

// parsePreparableAfterWith parses the statement after a top-level WITH
// clause and marks data-modifying ones uncacheable.
func (p *parser) parsePreparableAfterWith(sc *scope) Kind {
	kind := p.parsePreparable(sc)
	if kind != Select {
		p.notCacheable(strings.ToUpper(kind.String()) + " statement")
	}
	return kind
}

// parseTruncate parses TRUNCATE [TABLE] [ONLY] name [*], … [RESTART |
// CONTINUE IDENTITY] [CASCADE | RESTRICT]. CASCADE also truncates the
// tables that reference these: an unknown write.
func (p *parser) parseTruncate() {
	p.expectKw("truncate")
	p.acceptKw("table")
	for {
		p.write(p.parseRelationExpr())
		if !p.accept(tkComma) {
			break
		}
	}
	if !p.acceptSeq("restart", "identity") {
		p.acceptSeq("continue", "identity")
	}
	if p.acceptKw("cascade") {
		p.unknownWrite("TRUNCATE … CASCADE")
	} else {
		p.acceptKw("restrict")
	}
}

// parseCopy parses COPY name [(columns)] FROM … (a write) and COPY name
// [(columns)] TO … or COPY (query) TO … (a read, never cacheable).
func (p *parser) parseCopy(sc *scope) {
	p.expectKw("copy")
	p.acceptKw("binary")
	if p.accept(tkLParen) {
		p.parsePreparable(sc)
		p.expect(tkRParen, ")")
		p.expectKw("to")
		p.skipToEnd()
		return
	}
	t := p.parseTableName()
	if p.peek().kind == tkLParen {
		p.skipParens()
	}
	switch {
	case p.acceptKw("from"):
		p.write(t)
	case p.acceptKw("to"):
		p.read(t, sc)
	default:
		p.fail("expected FROM or TO in COPY")
	}
	p.skipToEnd()
}

// combine merges the results of the statements of one SQL string.
func combine(stmts []*stmtResult) *Analysis {
	an := &Analysis{}
	switch len(stmts) {
	case 0:
		an.Kind = Utility
		an.Reason = "empty statement"
		return an
	case 1:
		an.Kind = stmts[0].kind
		an.Reason = stmts[0].reason
	default:
		an.Kind = Multiple
		an.Reason = itoa(len(stmts)) + " statements"
	}
	an.Statements = len(stmts)
	for _, s := range stmts {
		an.Kinds = append(an.Kinds, s.kind)
		if s.tx != nil {
			an.TxControl = append(an.TxControl, *s.tx)
		}
		an.Reads = append(an.Reads, s.reads...)
		an.Writes = append(an.Writes, s.writes...)
		an.UnknownWrite = an.UnknownWrite || s.unknownWrite
	}
	an.Reads = sortTables(an.Reads)
	an.Writes = sortTables(an.Writes)
	an.Cacheable = an.Kind == Select && an.Reason == "" && len(an.Writes) == 0 && !an.UnknownWrite
	if !an.Cacheable && an.Reason == "" {
		an.Reason = "writes tables"
	}
	return an
}
