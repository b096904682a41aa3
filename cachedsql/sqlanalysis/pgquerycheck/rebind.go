package pgquerycheck

import (
	"fmt"
	"strings"
)

// Rebind rewrites the driver-side placeholders ?, :name and @name to
// PostgreSQL's $1, $2, … (as sqlx.Rebind and named queries do before the
// text reaches the server), so that pg_query can parse statements written
// for other drivers. want is the analyzer's list of placeholders, in order;
// Rebind fails if it finds a different sequence, which would mean the
// analyzer's lexer and this scanner disagree about what is a placeholder.
func Rebind(sql string, want []string) (string, error) {
	var b strings.Builder
	var got []string
	n := 0
	for _, p := range want {
		if strings.HasPrefix(p, "$") {
			var k int
			if _, err := fmt.Sscanf(p, "$%d", &k); err == nil && k > n {
				n = k
			}
		}
	}
	identStart := func(c byte) bool { return c == '_' || c >= 0x80 || (c|0x20 >= 'a' && c|0x20 <= 'z') }
	identCont := func(c byte) bool { return identStart(c) || (c >= '0' && c <= '9') }
	brackets := 0
	for i := 0; i < len(sql); {
		c := sql[i]
		rest := sql[i:]
		switch {
		case strings.HasPrefix(rest, "--"):
			j := strings.IndexAny(rest, "\r\n")
			if j < 0 {
				j = len(rest)
			}
			b.WriteString(rest[:j])
			i += j
		case strings.HasPrefix(rest, "/*"):
			depth, j := 0, 0
			for j < len(rest) {
				if strings.HasPrefix(rest[j:], "/*") {
					depth++
					j += 2
				} else if strings.HasPrefix(rest[j:], "*/") {
					depth--
					j += 2
					if depth == 0 {
						break
					}
				} else {
					j++
				}
			}
			b.WriteString(rest[:j])
			i += j
		case c == '\'' || c == '"':
			escapes := c == '\'' && i > 0 && (sql[i-1] == 'e' || sql[i-1] == 'E') && (i < 2 || !identCont(sql[i-2]))
			j := 1
			for j < len(rest) {
				if escapes && rest[j] == '\\' {
					j += 2
					continue
				}
				if rest[j] == c {
					if j+1 < len(rest) && rest[j+1] == c {
						j += 2
						continue
					}
					j++
					break
				}
				j++
			}
			b.WriteString(rest[:min(j, len(rest))])
			i += j
		case c == '$' && len(rest) > 1 && !(rest[1] >= '0' && rest[1] <= '9'):
			end := strings.IndexByte(rest[1:], '$')
			if end < 0 {
				b.WriteString(rest)
				i = len(sql)
				continue
			}
			tag := rest[:end+2]
			close := strings.Index(rest[len(tag):], tag)
			if close < 0 {
				b.WriteString(rest)
				i = len(sql)
				continue
			}
			j := len(tag) + close + len(tag)
			b.WriteString(rest[:j])
			i += j
		case c == '$':
			j := 1
			for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
				j++
			}
			got = append(got, rest[:j])
			b.WriteString(rest[:j])
			i += j
		case identCont(c):
			j := 0
			for j < len(rest) && (identCont(rest[j]) || rest[j] == '$') {
				j++
			}
			b.WriteString(rest[:j])
			i += j
		case c == '[' || c == ']':
			if c == '[' {
				brackets++
			} else if brackets > 0 {
				brackets--
			}
			b.WriteByte(c)
			i++
		case c == ':' && len(rest) > 1 && rest[1] == ':':
			b.WriteString("::")
			i += 2
		case (c == ':' && brackets == 0 || c == '@') && len(rest) > 1 && identStart(rest[1]):
			prevOp := i > 0 && strings.IndexByte("<", sql[i-1]) >= 0
			if c == '@' && prevOp {
				b.WriteByte(c)
				i++
				continue
			}
			j := 1
			for j < len(rest) && (identCont(rest[j]) || (rest[j] == '.' && j+1 < len(rest) && identStart(rest[j+1]))) {
				j++
			}
			got = append(got, rest[:j])
			n++
			fmt.Fprintf(&b, "$%d", n)
			i += j
		case c == '?' && !(len(rest) > 1 && strings.IndexByte("|&#-", rest[1]) >= 0) && !(i > 0 && sql[i-1] == '@'):
			got = append(got, "?")
			n++
			fmt.Fprintf(&b, "$%d", n)
			i++
		default:
			b.WriteByte(c)
			i++
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		return "", fmt.Errorf("placeholders: scanner found %q, analyzer %q", got, want)
	}
	return b.String(), nil
}
