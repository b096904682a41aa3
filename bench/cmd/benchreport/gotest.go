package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/perf/benchfmt"
)

// errNoBenchmarks is returned when go test -list finds no benchmark that
// matches -bench.
var errNoBenchmarks = errors.New("benchreport: no benchmark matches")

// goCommand returns a go command that runs in dir.
func goCommand(ctx context.Context, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	return cmd
}

// moduleDir returns the directory of the main module, the bench module
// when run from it.
func moduleDir(ctx context.Context) (string, error) {
	out, err := goCommand(ctx, "", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("benchreport: finding the bench module (run from bench/): go list -m: %w%s", err, stderrOf(err))
	}
	return strings.TrimSpace(string(out)), nil
}

// goVersion returns the version of the go command's toolchain.
func goVersion(ctx context.Context, dir string) string {
	out, err := goCommand(ctx, dir, "env", "GOVERSION").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return "\n" + strings.TrimSpace(string(ee.Stderr))
	}
	return ""
}

// listBenchmarks returns the top-level benchmarks of the package in dir
// that pattern (a -bench pattern) selects, in the order go test runs them.
func listBenchmarks(ctx context.Context, dir, pattern string) ([]string, error) {
	cmd := goCommand(ctx, dir, "test", "-list", topLevelPattern(pattern), ".")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("benchreport: go test -list: %w\n%s", err, strings.TrimSpace(out.String()))
	}
	var names []string
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "Benchmark") && !strings.ContainsAny(line, " \t") {
			names = append(names, line)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w -bench %q in %s", errNoBenchmarks, pattern, dir)
	}
	return names, nil
}

// topLevelPattern returns the part of a -bench pattern that applies to
// top-level names, for go test -list. Like the testing package, it splits
// the pattern into alternatives at each "|" and into levels at each "/"
// that is outside brackets and parentheses, and keeps the first level of
// each alternative: "Select/rows=1|Hit" gives "Select|Hit".
func topLevelPattern(pattern string) string {
	var tops []string
	brackets, parens := 0, 0
	start, top := 0, -1 // top: end of the current alternative's first level
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '[':
			brackets++
		case ']':
			brackets = max(brackets-1, 0)
		case '(':
			if brackets == 0 {
				parens++
			}
		case ')':
			if brackets == 0 {
				parens--
			}
		case '\\':
			i++
		case '/':
			if brackets == 0 && parens == 0 && top < 0 {
				top = i
			}
		case '|':
			if brackets == 0 && parens == 0 {
				if top < 0 {
					top = i
				}
				tops = append(tops, pattern[start:top])
				start, top = i+1, -1
			}
		}
	}
	if top < 0 {
		top = len(pattern)
	}
	return strings.Join(append(tops, pattern[start:top]), "|")
}

// benchArgs returns go test's arguments for a run.
func benchArgs(o options) []string {
	args := []string{"test", "-run", "^$", "-bench", o.bench, "-benchmem", "-count", fmt.Sprint(o.count)}
	if o.benchtime != "" {
		args = append(args, "-benchtime", o.benchtime)
	}
	if o.cpu != "" {
		args = append(args, "-cpu", o.cpu)
	}
	// go test's default 10-minute limit would end a long run midway.
	args = append(args, "-timeout", o.timeout.String(), ".")
	return args
}

// commandLine quotes args the way a shell would need them.
func commandLine(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'$^*?[]()|&;<>\\`!{}") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return "go " + strings.Join(q, " ")
}

// runBenchmarks runs go test with args in dir, copying its output (stdout
// and stderr, as a terminal would show them) to raw and telling p about
// each line. It returns the CPU time go test and all it started used.
func runBenchmarks(ctx context.Context, dir string, args []string, raw io.Writer, p *Progress) (time.Duration, error) {
	cmd := goCommand(ctx, dir, args...)
	setProcessGroup(cmd)
	cmd.WaitDelay = 30 * time.Second
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return 0, fmt.Errorf("benchreport: starting go test: %w", err)
	}
	pw.Close() // the child has its copy; EOF comes when it exits
	copyErr := streamOutput(pr, raw, p.Line, p.Partial)
	pr.Close()
	err = cmd.Wait()
	var cpu time.Duration
	if cmd.ProcessState != nil {
		cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		if ctx.Err() != nil {
			return cpu, fmt.Errorf("benchreport: go test interrupted: %w", ctx.Err())
		}
		return cpu, fmt.Errorf("benchreport: go test: %w", err)
	}
	if copyErr != nil {
		return cpu, fmt.Errorf("benchreport: copying go test's output: %w", copyErr)
	}
	return cpu, nil
}

// streamOutput copies r to raw as it comes, calling line with each
// complete line and partial with the start of a line not yet finished
// (once per change), which is how go test shows the benchmark it is
// running: it prints the name, runs, then prints the result.
func streamOutput(r io.Reader, raw io.Writer, line, partial func(string)) error {
	buf := make([]byte, 32<<10)
	var pending []byte
	lastPartial := ""
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := raw.Write(buf[:n]); werr != nil {
				return werr
			}
			pending = append(pending, buf[:n]...)
			for {
				i := bytes.IndexByte(pending, '\n')
				if i < 0 {
					break
				}
				line(strings.TrimRight(string(pending[:i]), "\r"))
				pending = pending[i+1:]
				lastPartial = ""
			}
			if s := string(pending); s != "" && s != lastPartial {
				partial(s)
				lastPartial = s
			}
		}
		if err == io.EOF {
			if len(pending) > 0 {
				line(string(pending))
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// hintsFrom returns the number of sub-benchmarks of each top-level
// benchmark in an earlier run's output, for the progress estimate; nil if
// there is none.
func hintsFrom(path string) map[string]int {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	leaves := map[string]map[string]bool{}
	r := benchfmt.NewReader(f, path)
	for r.Scan() {
		res, ok := r.Result().(*benchfmt.Result)
		if !ok {
			continue
		}
		base, parts := res.Name.Parts()
		var sub strings.Builder
		for _, part := range parts {
			if part[0] == '/' {
				sub.Write(part)
			}
		}
		b := "Benchmark" + string(base) // as go test -list names it
		if leaves[b] == nil {
			leaves[b] = map[string]bool{}
		}
		leaves[b][sub.String()] = true
	}
	hints := map[string]int{}
	for b, l := range leaves {
		hints[b] = len(l)
	}
	return hints
}
