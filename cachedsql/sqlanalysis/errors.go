package sqlanalysis

import (
	"errors"
	"fmt"
)

// ErrSyntax is returned (wrapped, with the offending position) when a
// statement cannot be tokenized or parsed: an unterminated string, comment or
// quoted identifier, unbalanced parentheses, a missing table name, or a
// construct the analyzer does not understand. Match it with errors.Is.
//
// The cache must treat a statement that fails to analyse as an unknown write:
// Analyze returns a conservative [Analysis] alongside the error for that.
var ErrSyntax = errors.New("sqlanalysis: syntax error")

// syntaxError is the error value behind ErrSyntax: it keeps the byte offset
// so that callers can point at the problem.
type syntaxError struct {
	Offset int    // byte offset in the SQL text
	Near   string // the token at Offset, or "end of input"
	Msg    string // what was wrong
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("sqlanalysis: syntax error at offset %d near %q: %s", e.Offset, e.Near, e.Msg)
}

func (e *syntaxError) Unwrap() error { return ErrSyntax }
