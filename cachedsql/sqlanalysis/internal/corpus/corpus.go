// Package corpus reads and writes the statement corpus in
// cachedsql/sqlanalysis/testdata: SQL statements with the analysis expected
// of them, shared by the package's golden test and by the pg_query
// cross-check module.
//
// The format is a sequence of records:
//
//	=== name
//	kind: Select
//	reads: orgs, public.users
//	writes:
//	cacheable: true
//	unknown_write: false
//	---
//	SELECT … (any number of lines, up to the next "=== " line)
//
// A record with "error: true" expects Analyze to fail. A record whose
// header is empty (no lines before "---", or no "---" at all) has no
// expectation yet; the golden test's -update flag fills it in.
package corpus

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Case is one corpus statement and what the analyzer is expected to say.
type Case struct {
	Name         string
	Line         int    // line of the "===" header, for messages
	SQL          string // the statement text, without the trailing newline
	HasExpect    bool   // false until the header has been filled in
	Error        bool   // Analyze must fail
	Kind         string
	Reads        []string // Table.String() of each table read, sorted
	Writes       []string // Table.String() of each table written, sorted
	Cacheable    bool
	UnknownWrite bool
}

// Load reads the corpus file at path.
func Load(path string) ([]Case, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(string(b))
}

// Parse parses corpus text.
func Parse(text string) ([]Case, error) {
	var cases []Case
	lines := strings.Split(text, "\n")
	seen := map[string]bool{}
	for i := 0; i < len(lines); {
		line := lines[i]
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			i++
			continue
		}
		name, ok := strings.CutPrefix(line, "=== ")
		if !ok {
			return nil, fmt.Errorf("corpus: line %d: expected \"=== name\", got %q", i+1, line)
		}
		c := Case{Name: strings.TrimSpace(name), Line: i + 1}
		if seen[c.Name] {
			return nil, fmt.Errorf("corpus: line %d: duplicate name %q", i+1, c.Name)
		}
		seen[c.Name] = true
		i++
		end := i
		for end < len(lines) && !strings.HasPrefix(lines[end], "=== ") {
			end++
		}
		block := lines[i:end]
		i = end
		sep := slices.Index(block, "---")
		body := block
		if sep >= 0 {
			if err := c.parseHeader(block[:sep]); err != nil {
				return nil, fmt.Errorf("corpus: %s (line %d): %w", c.Name, c.Line, err)
			}
			body = block[sep+1:]
		}
		c.SQL = strings.TrimRight(strings.Join(body, "\n"), "\n")
		cases = append(cases, c)
	}
	return cases, nil
}

func (c *Case) parseHeader(lines []string) error {
	for _, line := range lines {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			return fmt.Errorf("bad header line %q", line)
		}
		val = strings.TrimSpace(val)
		c.HasExpect = true
		var err error
		switch strings.TrimSpace(key) {
		case "kind":
			c.Kind = val
		case "reads":
			c.Reads = splitList(val)
		case "writes":
			c.Writes = splitList(val)
		case "cacheable":
			c.Cacheable, err = strconv.ParseBool(val)
		case "unknown_write":
			c.UnknownWrite, err = strconv.ParseBool(val)
		case "error":
			c.Error, err = strconv.ParseBool(val)
		default:
			return fmt.Errorf("unknown header key %q", key)
		}
		if err != nil {
			return fmt.Errorf("header %q: %w", line, err)
		}
	}
	return nil
}

// splitList splits "a, \"b, c\"" at commas outside double quotes.
func splitList(s string) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] == '"' {
			quoted = !quoted
		}
		if i == len(s) || (s[i] == ',' && !quoted) {
			if part := strings.TrimSpace(s[start:i]); part != "" {
				out = append(out, part)
			}
			start = i + 1
		}
	}
	return out
}

// Format renders cases in the corpus format.
func Format(cases []Case) string {
	var b strings.Builder
	for i, c := range cases {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "=== %s\n", c.Name)
		if c.Error {
			b.WriteString("error: true\n")
		} else if c.HasExpect {
			fmt.Fprintf(&b, "kind: %s\n", c.Kind)
			fmt.Fprintf(&b, "%s\n", strings.TrimSpace("reads: "+strings.Join(c.Reads, ", ")))
			fmt.Fprintf(&b, "%s\n", strings.TrimSpace("writes: "+strings.Join(c.Writes, ", ")))
			fmt.Fprintf(&b, "cacheable: %t\nunknown_write: %t\n", c.Cacheable, c.UnknownWrite)
		}
		b.WriteString("---\n")
		b.WriteString(c.SQL)
		b.WriteByte('\n')
	}
	return b.String()
}
