package sqlanalysis

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// lex splits sql into tokens following PostgreSQL's lexical rules (scan.l),
// extended with the placeholder styles of other drivers: ?, :name and @name.
// Comments and whitespace are dropped. An unterminated string, comment or
// quoted identifier, a number with trailing junk or a character PostgreSQL
// does not accept is an error wrapping [ErrSyntax].
func lex(sql string) ([]token, error) {
	l := lexer{src: sql, toks: make([]token, 0, len(sql)/4+1)}
	if err := l.run(); err != nil {
		return nil, err
	}
	return l.toks, nil
}

type lexer struct {
	src  string
	pos  int
	toks []token
	// brackets is the nesting depth of [ ]: inside an array subscript a
	// colon separates slice bounds (a[1:n]) and is not a :name placeholder.
	brackets int
}

func (l *lexer) fail(at int, msg string) error {
	near := "end of input"
	if at < len(l.src) {
		end := at + 10
		if end > len(l.src) {
			end = len(l.src)
		}
		near = l.src[at:end]
	}
	return &syntaxError{Offset: at, Near: near, Msg: msg}
}

func (l *lexer) emit(kind tokenKind, start int, val string) {
	l.toks = append(l.toks, token{kind: kind, text: l.src[start:l.pos], val: val, pos: start})
}

func (l *lexer) at(i int) byte {
	if i < len(l.src) {
		return l.src[i]
	}
	return 0
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}

func isIdentCont(c byte) bool { return isIdentStart(c) || isDigit(c) || c == '$' }

// isOpChar reports whether c may appear in a PostgreSQL operator.
func isOpChar(c byte) bool { return strings.IndexByte("~!@#^&|`?+-*/%<>=", c) >= 0 }

func (l *lexer) run() error {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		next := l.at(l.pos + 1)
		var err error
		switch {
		case isSpace(c):
			l.pos++
		case c == '-' && next == '-':
			l.skipLineComment()
		case c == '/' && next == '*':
			err = l.skipBlockComment()
		case c == '\'':
			err = l.lexQuoted(l.pos, l.pos, false)
		case c == '"':
			err = l.lexQuotedIdent(l.pos, l.pos, false)
		case (c == 'e' || c == 'E') && next == '\'':
			err = l.lexQuoted(l.pos, l.pos+1, true)
		case strings.IndexByte("bBxXnN", c) >= 0 && next == '\'':
			err = l.lexQuoted(l.pos, l.pos+1, false)
		case (c == 'u' || c == 'U') && next == '&' && l.at(l.pos+2) == '\'':
			err = l.lexUnicodeString()
		case (c == 'u' || c == 'U') && next == '&' && l.at(l.pos+2) == '"':
			err = l.lexQuotedIdent(l.pos, l.pos+2, true)
		case c == '$':
			err = l.lexDollar()
		case isIdentStart(c):
			l.lexIdent()
		case isDigit(c) || (c == '.' && isDigit(next)):
			err = l.lexNumber()
		case c == '(':
			l.single(tkLParen)
		case c == ')':
			l.single(tkRParen)
		case c == '[':
			l.brackets++
			l.single(tkLBracket)
		case c == ']':
			if l.brackets > 0 {
				l.brackets--
			}
			l.single(tkRBracket)
		case c == ',':
			l.single(tkComma)
		case c == ';':
			l.single(tkSemicolon)
		case c == '.':
			l.single(tkDot)
		case c == ':':
			l.lexColon()
		case c == '@' && isIdentStart(next):
			l.lexNamedParam()
		case isOpChar(c):
			l.lexOperator()
		default:
			err = l.fail(l.pos, "unexpected character")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (l *lexer) single(kind tokenKind) {
	start := l.pos
	l.pos++
	l.emit(kind, start, "")
}

func (l *lexer) skipLineComment() {
	for l.pos < len(l.src) && l.src[l.pos] != '\n' && l.src[l.pos] != '\r' {
		l.pos++
	}
}

// skipBlockComment skips a /* */ comment; PostgreSQL lets them nest.
func (l *lexer) skipBlockComment() error {
	start := l.pos
	depth := 0
	for l.pos < len(l.src) {
		switch {
		case l.src[l.pos] == '/' && l.at(l.pos+1) == '*':
			depth++
			l.pos += 2
		case l.src[l.pos] == '*' && l.at(l.pos+1) == '/':
			depth--
			l.pos += 2
			if depth == 0 {
				return nil
			}
		default:
			l.pos++
		}
	}
	return l.fail(start, "unterminated /* comment")
}

// lexQuoted lexes a '…' literal whose opening quote is at quote; the token
// starts at start (before any E, B, X or N prefix). In an E'…' literal a
// backslash escapes the next character; everywhere ” stands for one quote.
func (l *lexer) lexQuoted(start, quote int, backslash bool) error {
	i := quote + 1
	var b strings.Builder
	for i < len(l.src) {
		c := l.src[i]
		switch {
		case c == '\'' && l.at(i+1) == '\'':
			b.WriteByte('\'')
			i += 2
		case c == '\'':
			l.pos = i + 1
			val := b.String()
			if backslash {
				val = unescapeE(val)
			}
			l.emit(tkString, start, val)
			return nil
		case c == '\\' && backslash && i+1 < len(l.src):
			b.WriteByte(c)
			b.WriteByte(l.src[i+1])
			i += 2
		default:
			b.WriteByte(c)
			i++
		}
	}
	return l.fail(start, "unterminated quoted string")
}

// unescapeE decodes the backslash escapes of an E'…' literal. It is only
// used to look at the content (for 'now' and friends), so it is lenient.
func unescapeE(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch e := s[i]; e {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'x':
			j := i + 1
			for j < len(s) && j < i+3 && isHex(s[j]) {
				j++
			}
			if j == i+1 {
				b.WriteByte('x')
				continue
			}
			v, _ := strconv.ParseUint(s[i+1:j], 16, 8)
			b.WriteByte(byte(v))
			i = j - 1
		case 'u', 'U':
			n := 4
			if e == 'U' {
				n = 8
			}
			if i+1+n <= len(s) && allHex(s[i+1:i+1+n]) {
				v, _ := strconv.ParseUint(s[i+1:i+1+n], 16, 32)
				b.WriteRune(rune(v))
				i += n
				continue
			}
			b.WriteByte(e)
		default:
			if e >= '0' && e <= '7' {
				j := i
				for j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7' {
					j++
				}
				v, _ := strconv.ParseUint(s[i:j], 8, 16)
				b.WriteByte(byte(v))
				i = j - 1
				continue
			}
			b.WriteByte(e)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func allHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

// lexUnicodeString lexes U&'…' [UESCAPE 'c'].
func (l *lexer) lexUnicodeString() error {
	start := l.pos
	if err := l.lexQuoted(start, start+2, false); err != nil {
		return err
	}
	tok := &l.toks[len(l.toks)-1]
	esc, ok, err := l.uescape()
	if err != nil {
		return err
	}
	if ok {
		tok.text = l.src[start:l.pos]
	}
	tok.val = decodeUnicodeEscapes(tok.val, esc)
	return nil
}

// uescape consumes an optional UESCAPE 'c' clause after a U& literal or
// identifier and returns the escape character (a backslash by default).
func (l *lexer) uescape() (esc byte, ok bool, err error) {
	i := l.skipTrivia(l.pos)
	if i+7 > len(l.src) || !strings.EqualFold(l.src[i:i+7], "uescape") || (i+7 < len(l.src) && isIdentCont(l.src[i+7])) {
		return '\\', false, nil
	}
	j := l.skipTrivia(i + 7)
	if j+2 < len(l.src) && l.src[j] == '\'' && l.src[j+2] == '\'' {
		c := l.src[j+1]
		if isHex(c) || c == '+' || c == '\'' || c == '"' || isSpace(c) {
			return 0, false, l.fail(j, "invalid Unicode escape character")
		}
		l.pos = j + 3
		return c, true, nil
	}
	return 0, false, l.fail(i, "UESCAPE must be followed by a simple string literal")
}

// skipTrivia returns the offset of the first byte at or after i that is not
// whitespace or part of a comment. Unterminated comments stop the skip; the
// main loop reports them.
func (l *lexer) skipTrivia(i int) int {
	for i < len(l.src) {
		switch {
		case isSpace(l.src[i]):
			i++
		case l.src[i] == '-' && l.at(i+1) == '-':
			for i < len(l.src) && l.src[i] != '\n' && l.src[i] != '\r' {
				i++
			}
		case l.src[i] == '/' && l.at(i+1) == '*':
			save := l.pos
			l.pos = i
			if l.skipBlockComment() != nil {
				l.pos = save
				return i
			}
			i = l.pos
			l.pos = save
		default:
			return i
		}
	}
	return i
}

// decodeUnicodeEscapes decodes \XXXX and \+XXXXXX escapes of U& literals
// (with esc in place of the backslash). Malformed escapes are kept as
// written: the value is only used to name tables and to look at literals.
func decodeUnicodeEscapes(s string, esc byte) string {
	if strings.IndexByte(s, esc) < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != esc {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case i+1 < len(s) && s[i+1] == esc:
			b.WriteByte(esc)
			i++
		case i+5 <= len(s) && allHex(s[i+1:i+5]):
			v, _ := strconv.ParseUint(s[i+1:i+5], 16, 32)
			b.WriteRune(rune(v))
			i += 4
		case i+8 <= len(s) && s[i+1] == '+' && allHex(s[i+2:i+8]):
			v, _ := strconv.ParseUint(s[i+2:i+8], 16, 32)
			b.WriteRune(rune(v))
			i += 7
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// lexQuotedIdent lexes "…" (or U&"…" when unicode) with "" standing for a
// double quote. The case of a quoted identifier is kept.
func (l *lexer) lexQuotedIdent(start, quote int, unicode bool) error {
	i := quote + 1
	var b strings.Builder
	for i < len(l.src) {
		c := l.src[i]
		if c == '"' {
			if l.at(i+1) == '"' {
				b.WriteByte('"')
				i += 2
				continue
			}
			l.pos = i + 1
			val := b.String()
			if val == "" {
				return l.fail(start, "zero-length delimited identifier")
			}
			l.emit(tkQuotedIdent, start, val)
			if unicode {
				tok := &l.toks[len(l.toks)-1]
				esc, ok, err := l.uescape()
				if err != nil {
					return err
				}
				if ok {
					tok.text = l.src[start:l.pos]
				}
				tok.val = decodeUnicodeEscapes(tok.val, esc)
			}
			return nil
		}
		b.WriteByte(c)
		i++
	}
	return l.fail(start, "unterminated quoted identifier")
}

// lexDollar lexes $n placeholders and $tag$…$tag$ strings.
func (l *lexer) lexDollar() error {
	start := l.pos
	if isDigit(l.at(start + 1)) {
		i := start + 1
		for i < len(l.src) && isDigit(l.src[i]) {
			i++
		}
		if i < len(l.src) && isIdentCont(l.src[i]) {
			return l.fail(start, "trailing junk after parameter")
		}
		l.pos = i
		l.emit(tkParam, start, "")
		return nil
	}
	i := start + 1
	if i < len(l.src) && isIdentStart(l.src[i]) {
		for i < len(l.src) && isIdentStart(l.src[i]) || i < len(l.src) && isDigit(l.src[i]) {
			i++
		}
	}
	if l.at(i) != '$' {
		return l.fail(start, "unexpected $ (not a parameter or dollar quote)")
	}
	delim := l.src[start : i+1]
	end := strings.Index(l.src[i+1:], delim)
	if end < 0 {
		return l.fail(start, "unterminated dollar-quoted string")
	}
	l.pos = i + 1 + end + len(delim)
	l.emit(tkString, start, l.src[i+1:i+1+end])
	return nil
}

func (l *lexer) lexIdent() {
	start := l.pos
	for l.pos < len(l.src) && isIdentCont(l.src[l.pos]) {
		l.pos++
	}
	l.emit(tkIdent, start, foldIdent(l.src[start:l.pos]))
}

// foldIdent lower-cases ASCII letters only, as PostgreSQL does for
// identifiers in multi-byte encodings.
func foldIdent(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// lexNumber lexes integers (with _ separators and 0x/0o/0b prefixes),
// decimals and reals. Like PostgreSQL 15+, it rejects junk glued to a number
// (123abc) instead of splitting it into a number and an alias.
func (l *lexer) lexNumber() error {
	start := l.pos
	i := start
	digits := func(ok func(byte) bool) {
		for i < len(l.src) && (ok(l.src[i]) || l.src[i] == '_') {
			i++
		}
	}
	if l.src[i] == '0' && i+1 < len(l.src) && strings.IndexByte("xXoObB", l.src[i+1]) >= 0 {
		i += 2
		digits(isHex) // bit and octal digits are checked by the server
	} else {
		digits(isDigit)
		if l.at(i) == '.' && l.at(i+1) != '.' {
			i++
			digits(isDigit)
		}
		if c := l.at(i); c == 'e' || c == 'E' {
			j := i + 1
			if s := l.at(j); s == '+' || s == '-' {
				j++
			}
			if !isDigit(l.at(j)) {
				return l.fail(start, "trailing junk after numeric literal")
			}
			i = j
			digits(isDigit)
		}
	}
	if i < len(l.src) && isIdentStart(l.src[i]) {
		return l.fail(start, "trailing junk after numeric literal")
	}
	l.pos = i
	l.emit(tkNumber, start, "")
	return nil
}

// lexColon lexes ::, :=, :name placeholders (sqlx named queries) and a lone
// colon (array slices).
func (l *lexer) lexColon() {
	start := l.pos
	switch next := l.at(start + 1); {
	case next == ':' || next == '=':
		l.pos += 2
		l.emit(tkOp, start, "")
	case l.brackets == 0 && isIdentStart(next):
		l.pos++
		l.scanParamName()
		l.emit(tkParam, start, "")
	default:
		l.pos++
		l.emit(tkOp, start, "")
	}
}

// lexNamedParam lexes @name.
func (l *lexer) lexNamedParam() {
	start := l.pos
	l.pos++
	l.scanParamName()
	l.emit(tkParam, start, "")
}

// scanParamName consumes a placeholder name: letters, digits, underscores,
// and dots between them (sqlx binds :user.name to a nested field).
func (l *lexer) scanParamName() {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if isIdentStart(c) || isDigit(c) || (c == '.' && isIdentStart(l.at(l.pos+1))) {
			l.pos++
			continue
		}
		break
	}
}

// questionOps are the PostgreSQL operators that start with '?'; any other
// '?' is a placeholder.
var questionOps = map[string]bool{"?|": true, "?&": true, "?#": true, "?-": true, "?-|": true, "?||": true}

// atSplitPrefixes are operators after which "@name" is a placeholder
// (x=@id) rather than part of the operator, as in "a <@ b".
var atSplitPrefixes = map[string]bool{"=": true, "<>": true, "!=": true, ">=": true, "<=": true, ">": true}

// lexOperator lexes a run of operator characters following PostgreSQL's
// rules: -- and /* end the run, and a trailing + or - is split off unless
// the run contains one of ~!@#^&|`?%. A '?' that does not start one of the
// questionOps is a placeholder, so that "id=?" is "=" then "?".
func (l *lexer) lexOperator() {
	start := l.pos
	i := start
	for i < len(l.src) && isOpChar(l.src[i]) {
		c := l.src[i]
		if i > start {
			run := l.src[start:i]
			if (c == '-' && l.at(i+1) == '-') || (c == '/' && l.at(i+1) == '*') {
				break
			}
			if c == '?' && run != "@" && run[0] != '?' {
				break
			}
			if c == '@' && isIdentStart(l.at(i+1)) && atSplitPrefixes[run] {
				break
			}
		}
		i++
	}
	run := l.src[start:i]
	if run[0] == '?' {
		if questionOps[run] {
			l.pos = i
			l.emit(tkOp, start, "")
			return
		}
		// A '?' placeholder, possibly glued to a following operator.
		n := 1
		for _, op := range []string{"?-|", "?||", "?|", "?&", "?#", "?-"} {
			if strings.HasPrefix(run, op) {
				n = len(op)
				break
			}
		}
		l.pos = start + n
		if n == 1 {
			l.emit(tkParam, start, "")
		} else {
			l.emit(tkOp, start, "")
		}
		return
	}
	if len(run) > 1 && (run[len(run)-1] == '+' || run[len(run)-1] == '-') && !strings.ContainsAny(run, "~!@#^&|`?%") {
		for len(run) > 1 && (run[len(run)-1] == '+' || run[len(run)-1] == '-') {
			run = run[:len(run)-1]
		}
	}
	l.pos = start + len(run)
	l.emit(tkOp, start, "")
}

// truncateIdent shortens an identifier to PostgreSQL's NAMEDATALEN-1 (63)
// bytes without splitting a UTF-8 character, as the server does.
func truncateIdent(s string) string {
	const maxLen = 63
	if len(s) <= maxLen {
		return s
	}
	// Back up to the start of the character straddling the limit; a
	// UTF-8 character is at most 4 bytes, so if no start byte is that
	// close the text is not UTF-8 and is cut at the byte limit.
	for n := maxLen; n > maxLen-utf8.UTFMax && n > 0; n-- {
		if utf8.RuneStart(s[n]) {
			return s[:n]
		}
	}
	return s[:maxLen]
}
