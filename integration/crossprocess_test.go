package integration_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	redisstore "github.com/dogpile-go/dogpile/backend/redis"
	"github.com/dogpile-go/dogpile/cachedsql"
	"github.com/dogpile-go/dogpile/integration/harness"
)

// A worker is this test binary run again with envWorker set to a JSON
// workerJob: it opens a cachedsql.DB of its own on the job's PostgreSQL
// database and Redis, says "ready", and then answers one line per command
// read from standard input:
//
//	read ID        → "ok N HIT" (HIT is 1 when the cache answered)
//	write ID N     → "ok", once the transaction's Commit returned
//
// and "err MESSAGE" when a command fails. It exits when its input ends.
const envWorker = "DOGPILE_INTEGRATION_WORKER"

type workerJob struct {
	DSN       string
	RedisURL  string
	Namespace string
}

func runWorker() int {
	var job workerJob
	if err := json.Unmarshal([]byte(os.Getenv(envWorker)), &job); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 2
	}
	store, err := redisstore.New(redisstore.Options{URL: job.RedisURL})
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 2
	}
	defer store.Close()
	db, err := cachedsql.Connect("pgx", job.DSN, cachedsql.WithBackend(store), cachedsql.WithNamespace(job.Namespace))
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 2
	}
	defer db.Close()
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		fmt.Println(workerCommand(db, strings.Fields(in.Text())))
	}
	return 0
}

func workerCommand(db *cachedsql.DB, f []string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nums := make([]int, len(f))
	for i := 1; i < len(f); i++ {
		n, err := strconv.Atoi(f[i])
		if err != nil {
			return "err " + err.Error()
		}
		nums[i] = n
	}
	switch {
	case len(f) == 2 && f[0] == "read":
		r, err := tryRead(ctx, db, nums[1])
		if err != nil {
			return "err " + err.Error()
		}
		hit := 0
		if r.Hit {
			hit = 1
		}
		return fmt.Sprintf("ok %d %d", r.N, hit)
	case len(f) == 3 && f[0] == "write":
		tx, err := db.BeginTxx(ctx, nil)
		if err != nil {
			return "err " + err.Error()
		}
		if _, err := tx.ExecContext(ctx, writeN, nums[2], nums[1]); err != nil {
			_ = tx.Rollback()
			return "err " + err.Error()
		}
		if err := tx.Commit(); err != nil {
			return "err " + err.Error()
		}
		return "ok"
	}
	return fmt.Sprintf("err unknown command %q", f)
}

// worker is the parent's side of one worker process.
type worker struct {
	name string
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
}

func startWorker(t *testing.T, name string, job workerJob) *worker {
	t.Helper()
	spec, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envWorker+"="+string(spec))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &worker{name: name, cmd: cmd, in: in, out: bufio.NewReader(out)}
	t.Cleanup(func() {
		_ = w.in.Close() // the worker exits when its input ends
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("%s did not exit when its input ended; killed", name)
		}
	})
	return w
}

// line reads the worker's next line of output.
func (w *worker) line() (string, error) {
	s, err := w.out.ReadString('\n')
	return strings.TrimSpace(s), err
}

// do sends a command and returns the answer after "ok", failing on "err".
func (w *worker) do(cmd string) ([]string, error) {
	if _, err := io.WriteString(w.in, cmd+"\n"); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", w.name, cmd, err)
	}
	ans, err := w.line()
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", w.name, cmd, err)
	}
	f := strings.Fields(ans)
	if len(f) == 0 || f[0] != "ok" {
		return nil, fmt.Errorf("%s: %s: %s", w.name, cmd, ans)
	}
	return f[1:], nil
}

func (w *worker) read(id int) (read, error) {
	f, err := w.do(fmt.Sprintf("read %d", id))
	if err != nil {
		return read{}, err
	}
	if len(f) != 2 {
		return read{}, fmt.Errorf("%s: read answered %q", w.name, f)
	}
	n, err := strconv.Atoi(f[0])
	return read{N: n, Hit: f[1] == "1"}, err
}

// Three processes on one PostgreSQL and one Redis: in each round every
// process reads (from the cache, once one of them filled it), one of them
// writes in a transaction, and as soon as its Commit has returned the other
// two, asked at once and together, read the new value.
func TestCrossProcess(t *testing.T) {
	t.Parallel()
	pg := harness.SharedPostgres(t)
	job := workerJob{DSN: newItemsDB(t, pg), RedisURL: harness.SharedRedis(t).URL(), Namespace: namespace(t)}

	const procs, rounds = 3, 6
	ws := make([]*worker, procs)
	var wg sync.WaitGroup
	errs := make([]error, procs)
	for i := range ws {
		ws[i] = startWorker(t, fmt.Sprintf("worker %d", i), job)
		wg.Go(func() {
			if l, err := ws[i].line(); err != nil || l != "ready" {
				errs[i] = fmt.Errorf("%s did not get ready: %q, %v", ws[i].name, l, err)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	hits, want := 0, 10
	for round := range rounds {
		for _, w := range ws {
			r, err := w.read(1)
			if err != nil {
				t.Fatal(err)
			}
			if r.N != want {
				t.Fatalf("round %d: %s read %d before the write, want %d", round, w.name, r.N, want)
			}
			if r.Hit {
				hits++
			}
		}
		writer := ws[round%procs]
		want++
		if _, err := writer.do(fmt.Sprintf("write 1 %d", want)); err != nil {
			t.Fatal(err)
		}
		got := make([]read, procs)
		for i, w := range ws {
			if w == writer {
				continue
			}
			wg.Go(func() { got[i], errs[i] = w.read(1) })
		}
		wg.Wait()
		for i, w := range ws {
			if w == writer {
				continue
			}
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if got[i].N != want {
				t.Fatalf("round %d: %s read %d right after %s's commit returned, want %d", round, w.name, got[i].N, writer.name, want)
			}
		}
	}
	// Every round's first reads find what the last round's reads cached:
	// if none hit, the processes did not share the cache at all.
	if hits < rounds {
		t.Fatalf("%d hits in %d reads before writes: the processes do not share the cache", hits, rounds*procs)
	}
	t.Logf("%d of %d reads before writes were hits", hits, rounds*procs)
}
