package sqlanalysis

import "strings"

// parser walks the tokens of one SQL string. It is not a full SQL parser:
// it understands the structure that decides which tables are read and
// written (clauses, FROM items, subqueries, CTEs, statement targets) and
// skips over expressions, looking in them only for subqueries, function
// calls and time-dependent literals. Whatever it cannot place is a syntax
// error, which callers treat as an unknown write.
type parser struct {
	toks []token
	pos  int
	an   *Analyzer
	res  *stmtResult // the statement being analysed

	// depth is the nesting of recursive calls, bounded by maxDepth.
	depth int
	// parenRunStart and parenRunEnd delimit the last run of "(" tokens
	// examined by startsQuery, whose answer is parenRunQuery: nested
	// parentheses in FROM ask the same question once per level.
	parenRunStart, parenRunEnd int
	parenRunQuery              bool
	// inGroupBy is set while the GROUP BY list of the innermost SELECT is
	// scanned, where CUBE (…) and ROLLUP (…) are grammar, not calls.
	inGroupBy bool
}

// maxDepth bounds the nesting of subqueries, parentheses and CASE, as
// PostgreSQL's max_stack_depth does, so that pathological input fails with
// ErrSyntax instead of exhausting the stack.
const maxDepth = 1000

// enter guards one level of recursion; defer p.leave() after it.
func (p *parser) enter() {
	p.depth++
	if p.depth > maxDepth {
		p.fail("statement nested too deeply")
	}
}

func (p *parser) leave() { p.depth-- }

// stmtResult accumulates what one statement does.
type stmtResult struct {
	kind         Kind
	reads        []Table
	writes       []Table
	reason       string // first reason it is not cacheable
	unknownWrite bool
	selectInto   bool         // SELECT … INTO creates a table
	tx           *TxStatement // a statement that starts or ends a transaction
}

// bail carries a syntax error out of the recursive descent; analyze
// recovers it. Any other panic is a bug and is not recovered.
type bail struct{ err *syntaxError }

// scope is a level of CTE names visible to unqualified table references.
type scope struct {
	names  []string
	parent *scope
}

func (s *scope) has(name string) bool {
	for ; s != nil; s = s.parent {
		for _, n := range s.names {
			if n == name {
				return true
			}
		}
	}
	return false
}

var eofToken = token{kind: tkEOF}

func (p *parser) peek() token { return p.peekN(0) }

func (p *parser) peekN(n int) token {
	if p.pos+n < len(p.toks) {
		return p.toks[p.pos+n]
	}
	return eofToken
}

func (p *parser) next() token {
	t := p.peek()
	if p.pos < len(p.toks) {
		p.pos++
	}
	return t
}

// isKw reports whether the next token is the unquoted keyword kw.
func (p *parser) isKw(kw string) bool { return p.peek().is(kw) }

// acceptKw consumes the next token if it is the keyword kw.
func (p *parser) acceptKw(kw string) bool {
	if p.isKw(kw) {
		p.pos++
		return true
	}
	return false
}

// acceptSeq consumes the keywords kws if they all come next.
func (p *parser) acceptSeq(kws ...string) bool {
	for i, kw := range kws {
		if !p.peekN(i).is(kw) {
			return false
		}
	}
	p.pos += len(kws)
	return true
}

func (p *parser) expectKw(kw string) {
	if !p.acceptKw(kw) {
		p.fail("expected " + strings.ToUpper(kw))
	}
}

func (p *parser) accept(kind tokenKind) bool {
	if p.peek().kind == kind {
		p.pos++
		return true
	}
	return false
}

func (p *parser) expect(kind tokenKind, what string) {
	if !p.accept(kind) {
		p.fail("expected " + what)
	}
}

// atEnd reports whether the statement ends here.
func (p *parser) atEnd() bool {
	k := p.peek().kind
	return k == tkEOF || k == tkSemicolon
}

func (p *parser) fail(msg string) {
	t := p.peek()
	pos := t.pos
	if t.kind == tkEOF && len(p.toks) > 0 {
		last := p.toks[len(p.toks)-1]
		pos = last.pos + len(last.text)
	}
	panic(bail{&syntaxError{Offset: pos, Near: t.describe(), Msg: msg}})
}

// skipParens consumes a balanced ( … ) group without looking inside.
func (p *parser) skipParens() {
	p.expect(tkLParen, "(")
	for depth := 1; depth > 0; {
		switch p.next().kind {
		case tkLParen:
			depth++
		case tkRParen:
			depth--
		case tkEOF:
			p.fail("unbalanced parentheses")
		}
	}
}

// skipToEnd consumes the rest of a statement the analyzer does not look
// into, keeping parentheses balanced and stepping over the BEGIN ATOMIC …
// END body of a SQL-standard function, whose statements end in semicolons.
func (p *parser) skipToEnd() {
	depth := 0
	for {
		t := p.peek()
		switch {
		case t.kind == tkEOF:
			if depth > 0 {
				p.fail("unbalanced parentheses")
			}
			return
		case t.kind == tkSemicolon && depth == 0:
			return
		case t.kind == tkLParen:
			depth++
		case t.kind == tkRParen:
			if depth == 0 {
				p.fail("unbalanced parentheses")
			}
			depth--
		case t.is("begin") && p.peekN(1).is("atomic"):
			p.pos += 2
			p.skipAtomicBody()
			continue
		}
		p.pos++
	}
}

// skipAtomicBody consumes statements up to the END of a BEGIN ATOMIC block;
// CASE … END pairs inside it are matched so their END does not end it.
func (p *parser) skipAtomicBody() {
	cases := 0
	for {
		t := p.next()
		switch {
		case t.kind == tkEOF:
			p.fail("unterminated BEGIN ATOMIC block")
		case t.is("case"):
			cases++
		case t.is("end"):
			if cases == 0 {
				return
			}
			cases--
		}
	}
}

// nameValue is the identifier a name token stands for, truncated as
// PostgreSQL truncates identifiers.
func nameValue(t token) string { return truncateIdent(t.val) }

// parseTableName parses name, schema.name or catalog.schema.name.
func (p *parser) parseTableName() Table {
	first := p.peek()
	if !canStartName(first) {
		p.fail("expected a table name")
	}
	p.pos++
	parts := []string{nameValue(first)}
	for p.peek().kind == tkDot && p.peekN(1).isName() {
		parts = append(parts, nameValue(p.peekN(1)))
		p.pos += 2
	}
	switch len(parts) {
	case 1:
		return Table{Name: parts[0]}
	case 2:
		return Table{Schema: parts[0], Name: parts[1]}
	case 3:
		return Table{Catalog: parts[0], Schema: parts[1], Name: parts[2]}
	}
	p.fail("improper qualified name (too many dotted names)")
	return Table{}
}

// read records a table read in scope sc, unless it names a CTE.
func (p *parser) read(t Table, sc *scope) {
	if t.Schema == "" && t.Catalog == "" && sc.has(t.Name) {
		return
	}
	p.res.reads = append(p.res.reads, t)
	if isSystemCatalog(t) {
		p.notCacheable("system catalog or temporary table " + t.String())
	}
}

// isSystemCatalog reports whether t is (or, unqualified, resolves first to)
// a system catalog or view, whose contents change without any write the
// cache could see, or a table of a session's temporary schema (pg_temp),
// whose contents differ between the connections sharing a cache.
func isSystemCatalog(t Table) bool {
	switch {
	case t.Schema == "information_schema", strings.HasPrefix(t.Schema, "pg_"):
		return true
	case t.Schema == "":
		return strings.HasPrefix(t.Name, "pg_")
	}
	return false
}

// write records a table the statement may change.
func (p *parser) write(t Table) { p.res.writes = append(p.res.writes, t) }

// notCacheable records why the statement is not cacheable; the first
// reason wins.
func (p *parser) notCacheable(reason string) {
	if p.res.reason == "" {
		p.res.reason = reason
	}
}

// unknownWrite records that the statement may write data it cannot name.
func (p *parser) unknownWrite(reason string) {
	p.notCacheable(reason)
	p.res.unknownWrite = true
}
