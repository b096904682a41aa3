package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"time"
)

// A worker is this program run again, with workerEnv naming it (B, C) and
// setupEnv holding its setup as JSON. It reads requests from its standard
// input, one JSON object a line, answers each on its standard output, and
// exits when its input ends.
const (
	workerEnv = "DOGPILE_REDIS_EXAMPLE_WORKER"
	setupEnv  = "DOGPILE_REDIS_EXAMPLE_SETUP"
)

// request is what the parent asks a process to do.
type request struct {
	Op         string           `json:"op"` // see node.do
	ID         int              `json:"id,omitempty"`
	Name       string           `json:"name,omitempty"`
	Goroutines int              `json:"goroutines,omitempty"`
	Leader     bool             `json:"leader,omitempty"`
	Hard       int64            `json:"hard,omitempty"`  // an invalidation's time, Unix nanoseconds
	Marks      map[string]int64 `json:"marks,omitempty"` // marks received so far, per process
}

// reply is a process's answer. Err is empty on success.
type reply struct {
	Err     string           `json:"err,omitempty"`
	Name    string           `json:"name,omitempty"`
	From    string           `json:"from,omitempty"`
	Hard    int64            `json:"hard,omitempty"`
	Count   int              `json:"count,omitempty"`
	Queries int64            `json:"queries,omitempty"`
	Marks   map[string]int64 `json:"marks,omitempty"`
}

// process is one process of the example, as the parent drives it: the
// parent's own node, or a worker.
type process interface {
	Name() string
	do(ctx context.Context, req request) reply
}

// call asks p to do req and returns its reply, or its failure as an error.
func call(ctx context.Context, p process, req request) (reply, error) {
	r := p.do(ctx, req)
	if r.Err != "" {
		return r, fmt.Errorf("process %s: %s: %s", p.Name(), req.Op, r.Err)
	}
	return r, nil
}

// Name returns the process's name.
func (n *node) Name() string { return n.name }

// do carries out req in this process.
func (n *node) do(ctx context.Context, req request) reply {
	var r reply
	var err error
	switch req.Op {
	case "read":
		r.Name, r.From, err = n.read(ctx, req.ID)
	case "rename":
		err = n.rename(ctx, req.ID, req.Name)
	case "invalidate":
		r.Hard, err = n.invalidate(ctx)
	case "await-invalidation":
		err = n.awaitInvalidation(ctx, req.Hard)
	case "mark":
		err = n.mark(ctx)
	case "marks":
		r.Marks = n.markCounts()
	case "await-marks":
		err = n.awaitMarks(ctx, req.Marks)
	case "stampede":
		err = n.stampede(ctx, req.Goroutines, req.Leader)
	case "stampede-done":
		r.Count, r.Queries, err = n.stampedeDone()
	default:
		err = fmt.Errorf("unknown operation %q", req.Op)
	}
	if err != nil {
		r.Err = err.Error()
	}
	return r
}

// workerMain is the whole of a worker process: it returns its exit code.
func workerMain(name string) int {
	// Ctrl-C in a terminal reaches the whole process group: leave it to
	// the parent, which ends its workers by closing their input.
	signal.Ignore(os.Interrupt)
	out := json.NewEncoder(os.Stdout)
	fail := func(err error) int {
		_ = out.Encode(reply{Err: err.Error()})
		return 1
	}
	var s setup
	if err := json.Unmarshal([]byte(os.Getenv(setupEnv)), &s); err != nil {
		return fail(fmt.Errorf("%s: %w", setupEnv, err))
	}
	ctx := context.Background()
	n, err := openNode(ctx, name, s, nil)
	if err != nil {
		return fail(err)
	}
	defer n.close()
	if err := out.Encode(reply{}); err != nil { // ready
		return 1
	}
	in := json.NewDecoder(bufio.NewReader(os.Stdin))
	for {
		var req request
		if err := in.Decode(&req); err != nil {
			if errors.Is(err, io.EOF) {
				return 0
			}
			fmt.Fprintf(os.Stderr, "process %s: %v\n", name, err)
			return 1
		}
		if err := out.Encode(n.do(ctx, req)); err != nil {
			return 1
		}
	}
}

// worker is the parent's handle on a worker process.
type worker struct {
	name string
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *json.Decoder

	mu     sync.Mutex // one request at a time
	closed sync.Once
	err    error // of close, set once
}

// startWorker runs this program again as worker name, and returns once
// it is ready: its DB open and its store subscribed.
func startWorker(ctx context.Context, name string, s setup) (*worker, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	js, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), workerEnv+"="+name, setupEnv+"="+string(js))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting process %s: %w", name, err)
	}
	w := &worker{name: name, cmd: cmd, in: in, out: json.NewDecoder(out)}
	if r := w.receive(ctx); r.Err != "" {
		w.close()
		return nil, fmt.Errorf("process %s: %s", name, r.Err)
	}
	return w, nil
}

// Name returns the worker's name.
func (w *worker) Name() string { return w.name }

// do sends req to the worker and returns its reply.
func (w *worker) do(ctx context.Context, req request) reply {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := json.NewEncoder(w.in).Encode(req); err != nil {
		return reply{Err: err.Error()}
	}
	return w.receive(ctx)
}

// receive reads the worker's next reply. When ctx ends first, the worker
// is killed: it may be stuck.
func (w *worker) receive(ctx context.Context) reply {
	got := make(chan reply, 1)
	go func() {
		var r reply
		if err := w.out.Decode(&r); err != nil {
			r = reply{Err: fmt.Sprintf("no reply (%v)", err)}
		}
		got <- r
	}()
	select {
	case r := <-got:
		return r
	case <-ctx.Done():
		_ = w.cmd.Process.Kill()
		return reply{Err: ctx.Err().Error()}
	}
}

// close ends the worker: its input closes, it closes its DB and store and
// exits. A worker that has not exited after a few seconds is killed.
// Calls after the first return the first's result.
func (w *worker) close() error {
	w.closed.Do(func() { w.err = w.end() })
	return w.err
}

func (w *worker) end() error {
	_ = w.in.Close()
	done := make(chan error, 1)
	go func() { done <- w.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("process %s: %w", w.name, err)
		}
		return nil
	case <-time.After(10 * time.Second):
		_ = w.cmd.Process.Kill()
		<-done
		return fmt.Errorf("process %s did not exit; killed", w.name)
	}
}
