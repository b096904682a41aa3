package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// StartTimeout bounds how long a server may take to become ready, from the
// start of its process to its first successful readiness check.
const StartTimeout = 30 * time.Second

// stopTimeout bounds a graceful stop before the process group is killed.
const stopTimeout = 10 * time.Second

// The spawner starts every server process from one goroutine locked to its
// OS thread for the life of the test binary.
//
// Why: servers are started with Pdeathsig = SIGKILL so that they die with
// the test binary however it ends (panic, os.Exit, SIGKILL, test timeout).
// But Linux sends the parent-death signal when the *thread* that forked the
// child exits, not the process. Go may end an OS thread at any time — for
// instance when a goroutine that called runtime.LockOSThread returns without
// unlocking — and a server forked from that thread would be killed under a
// running test. A goroutine that locks its thread and never returns keeps
// that thread alive exactly as long as the process.
var spawner struct {
	once sync.Once
	reqs chan spawnRequest
}

type spawnRequest struct {
	cmd  *exec.Cmd
	done chan error
}

// spawn starts cmd on the spawner's thread.
func spawn(cmd *exec.Cmd) error {
	spawner.once.Do(func() {
		spawner.reqs = make(chan spawnRequest)
		go func() {
			runtime.LockOSThread() // never unlocked: see spawner
			for r := range spawner.reqs {
				r.done <- r.cmd.Start()
			}
		}()
	})
	done := make(chan error, 1)
	spawner.reqs <- spawnRequest{cmd: cmd, done: done}
	return <-done
}

// process is one server process that can be stopped and started again with
// the same command line, so that it comes back on the same port and data
// directory. It is safe for concurrent use by multiple goroutines.
type process struct {
	name     string              // for messages, e.g. "redis 127.0.0.1:15001"
	path     string              // binary
	args     []string            // arguments, fixed for every start
	dir      string              // working directory
	logPath  string              // stdout and stderr of every start, appended
	cred     *syscall.Credential // run as this user; nil: as the test binary's
	stopSig  syscall.Signal      // the server's graceful-shutdown signal
	ready    func(ctx context.Context) error
	portBusy func(log string) bool // did this start fail because the port was taken?
	settle   func()                // if set, waits after a kill until the server's helpers are gone

	mu       sync.Mutex    // serialises start/stop/kill
	cmd      *exec.Cmd     // guarded by mu; nil while not running
	exited   chan struct{} // guarded by mu; closed once cmd has been reaped
	waitErr  error         // written before exited is closed
	logStart int64         // guarded by mu; log size when the last start began
}

// start starts the process and waits until ready reports it serves, the
// process exits, or StartTimeout passes.
func (p *process) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		select {
		case <-p.exited: // it died on its own: start it again
			p.cmd, p.exited = nil, nil
		default:
			return nil // already running
		}
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("testenv: open log of %s: %w", p.name, err)
	}
	defer logf.Close() // the child holds its own descriptor
	if fi, err := logf.Stat(); err == nil {
		p.logStart = fi.Size()
	}
	fmt.Fprintf(logf, "--- testenv: starting %s: %s %s\n", p.name, p.path, strings.Join(p.args, " "))

	cmd := exec.Command(p.path, p.args...)
	cmd.Dir = p.dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Pdeathsig:  syscall.SIGKILL, // die with the test binary: see spawner
		Setpgid:    true,            // Kill takes the server's children too (PostgreSQL backends)
		Credential: p.cred,
	}
	if err := spawn(cmd); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrStartFailed, p.name, err)
	}
	exited := make(chan struct{})
	p.cmd, p.exited = cmd, exited
	go func() {
		err := cmd.Wait()
		p.waitErr = err
		close(exited)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	if err := p.waitReadyLocked(ctx); err != nil {
		p.killLocked()
		return err
	}
	return nil
}

// waitReadyLocked polls p.ready until it succeeds. p.mu must be held.
func (p *process) waitReadyLocked(ctx context.Context) error {
	delay := 5 * time.Millisecond
	var last error
	for {
		attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := p.ready(attempt)
		cancel()
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-p.exited:
			return fmt.Errorf("%w: %s exited during start-up (%v); its log ends:\n%s",
				ErrStartFailed, p.name, p.waitErr, p.logTailLocked())
		case <-ctx.Done():
			return fmt.Errorf("%w: %s not ready after %v (last check: %v); its log ends:\n%s",
				ErrStartFailed, p.name, StartTimeout, last, p.logTailLocked())
		case <-time.After(delay):
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// logTailLocked returns the last lines the current start wrote to the log.
func (p *process) logTailLocked() string {
	f, err := os.Open(p.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	defer f.Close()
	if _, err := f.Seek(p.logStart, io.SeekStart); err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return "    " + string(bytes.Join(lines, []byte("\n    ")))
}

// startFailedOnBusyPort reports whether err is a start-up failure whose log
// says the port was taken (by another test binary that picked it too).
func (p *process) startFailedOnBusyPort() bool {
	if p.portBusy == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.portBusy(p.logTailLocked())
}

// stop asks the server to shut down with its graceful signal and waits; past
// stopTimeout it kills the process group.
func (p *process) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	pid := p.cmd.Process.Pid
	_ = syscall.Kill(pid, p.stopSig)
	_ = syscall.Kill(-pid, syscall.SIGCONT) // a paused server could not act on it
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
	}
	p.killLocked()
}

// kill sends SIGKILL to the process group, as a crash would, and reaps it.
func (p *process) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.killLocked()
}

func (p *process) killLocked() {
	if p.cmd == nil {
		return
	}
	pid := p.cmd.Process.Pid
	// The whole group, while the leader is still unreaped so the group id
	// cannot have been reused: a PostgreSQL backend left behind would keep
	// the shared memory block busy and stop the next start.
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	<-p.exited
	p.cmd, p.exited = nil, nil
	// SIGKILL is delivered asynchronously: wait until the rest of the group
	// is gone too (orphans are reaped by init), and whatever else settle
	// waits for.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if err := syscall.Kill(-pid, 0); errors.Is(err, syscall.ESRCH) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if p.settle != nil {
		p.settle()
	}
}

// signal sends sig to the process group; it fails if the process is not running.
func (p *process) signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return fmt.Errorf("testenv: %s is not running", p.name)
	}
	if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("testenv: signal %v to %s: %w", sig, p.name, err)
	}
	return nil
}

// pid returns the server's process id, or 0 when it is not running.
func (p *process) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}
