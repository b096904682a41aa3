package sqlanalysis

// TxVerb is what a transaction control statement does.
type TxVerb uint8

const (
	// TxBegin starts a transaction: BEGIN, START TRANSACTION.
	TxBegin TxVerb = iota + 1
	// TxCommit commits the transaction: COMMIT, END.
	TxCommit
	// TxRollback rolls it back: ROLLBACK, ABORT (not ROLLBACK TO a
	// savepoint, which ends nothing).
	TxRollback
	// TxPrepare ends the session's transaction by preparing it for a
	// two-phase commit: PREPARE TRANSACTION 'gid'. Its changes become
	// visible only at COMMIT PREPARED, from any session.
	TxPrepare
	// TxCommitPrepared commits a prepared transaction: COMMIT PREPARED
	// 'gid'.
	TxCommitPrepared
	// TxRollbackPrepared rolls a prepared transaction back: ROLLBACK
	// PREPARED 'gid'.
	TxRollbackPrepared
)

var txVerbNames = [...]string{
	TxBegin:            "Begin",
	TxCommit:           "Commit",
	TxRollback:         "Rollback",
	TxPrepare:          "Prepare",
	TxCommitPrepared:   "CommitPrepared",
	TxRollbackPrepared: "RollbackPrepared",
}

// String returns the verb's name, such as "Commit".
func (v TxVerb) String() string {
	if v > 0 && int(v) < len(txVerbNames) {
		return txVerbNames[v]
	}
	return "TxVerb(" + itoa(int(v)) + ")"
}

// TxStatement is a statement that starts or ends a transaction by its
// text. SAVEPOINT, RELEASE and ROLLBACK TO are not: they neither start nor
// end one.
type TxStatement struct {
	Verb TxVerb
	// Chain is set for COMMIT or ROLLBACK AND CHAIN: a new transaction
	// begins as this one ends.
	Chain bool
	// GID is the transaction identifier of PREPARE TRANSACTION, COMMIT
	// PREPARED and ROLLBACK PREPARED.
	GID string
}

// txControl recognises, in a utility statement starting at the parser's
// position, one that starts or ends a transaction, and records it. It
// reads the statement's tokens without consuming them.
func (p *parser) txControl() {
	var words []token
	for _, t := range p.toks[p.pos:] {
		if t.kind == tkEOF || t.kind == tkSemicolon {
			break
		}
		words = append(words, t)
	}
	if len(words) == 0 {
		return
	}
	second := func(kw string) bool { return len(words) > 1 && words[1].is(kw) }
	gid := func() string {
		if len(words) > 2 && words[2].kind == tkString {
			return words[2].val
		}
		return ""
	}
	var st TxStatement
	switch w := words[0]; {
	case w.is("begin"):
		st.Verb = TxBegin
	case w.is("start"):
		if !second("transaction") {
			return
		}
		st.Verb = TxBegin
	case w.is("commit") || w.is("end"):
		if w.is("commit") && second("prepared") {
			st.Verb, st.GID = TxCommitPrepared, gid()
			break
		}
		st.Verb, st.Chain = TxCommit, chains(words)
	case w.is("rollback") || w.is("abort"):
		if w.is("rollback") && second("prepared") {
			st.Verb, st.GID = TxRollbackPrepared, gid()
			break
		}
		for _, t := range words[1:] {
			if t.is("to") { // ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] name
				return
			}
		}
		st.Verb, st.Chain = TxRollback, chains(words)
	case w.is("prepare"):
		if !second("transaction") { // PREPARE name AS statement
			return
		}
		st.Verb, st.GID = TxPrepare, gid()
	default:
		return
	}
	p.res.tx = &st
}

// chains reports whether a COMMIT or ROLLBACK's words end it AND CHAIN
// (not AND NO CHAIN).
func chains(words []token) bool {
	for i := 1; i+1 < len(words); i++ {
		if words[i].is("and") && words[i+1].is("chain") {
			return true
		}
	}
	return false
}
