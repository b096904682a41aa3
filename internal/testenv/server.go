package testenv

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
)

// server is what every kind of server has: an address and, when this
// package started it, a process that tests can stop, start, kill and pause.
// Its methods are promoted to [Redis], [Postgres] and [Memcached].
type server struct {
	kind    string   // "redis", "postgres", …, for messages
	newFunc string   // the constructor to suggest for fault injection
	addr    string   // host:port
	proc    *process // nil when the server is external
	shared  bool     // shared by every test of the binary: no fault injection
	extVar  string   // for an external server, the variable that named it
	dir     string   // its files; "" when external
}

// Addr returns the server's host:port.
func (s *server) Addr() string { return s.addr }

// LogFile returns the path of the file that receives the server's output,
// or "" for an external server. It is removed with the server.
func (s *server) LogFile() string {
	if s.proc == nil {
		return ""
	}
	return s.proc.logPath
}

// External reports whether the server was named by an environment variable
// rather than started by this package.
func (s *server) External() bool { return s.proc == nil }

// control returns the process for a fault-injection call, or fails tb when
// the server is not this test's to control.
func (s *server) control(tb testing.TB, op string) *process {
	tb.Helper()
	switch {
	case s.proc == nil:
		tb.Fatalf("%v: %s of %s %s: it is external (%s), not started by testenv; "+
			"use testenv.%s for a test that stops, kills or pauses a server",
			ErrNoProcessControl, op, s.kind, s.addr, s.extVar, s.newFunc)
	case s.shared:
		tb.Fatalf("%v: %s of %s %s: it is shared by every test of this binary; "+
			"use testenv.%s for a test that stops, kills or pauses a server",
			ErrNoProcessControl, op, s.kind, s.addr, s.newFunc)
	}
	return s.proc
}

// Stop shuts the server down gracefully and waits for it to exit (past ten
// seconds it is killed). Stopping a stopped server does nothing. Redis and
// memcached keep no data across a stop; PostgreSQL keeps its data directory.
func (s *server) Stop(tb testing.TB) {
	tb.Helper()
	s.control(tb, "Stop").stop()
}

// Start starts a stopped or killed server again on the same port, with the
// same configuration and data directory, and waits until it serves.
// Starting a running server does nothing.
func (s *server) Start(tb testing.TB) {
	tb.Helper()
	if err := s.control(tb, "Start").start(); err != nil {
		tb.Fatal(err)
	}
}

// Restart is Stop followed by Start.
func (s *server) Restart(tb testing.TB) {
	tb.Helper()
	p := s.control(tb, "Restart")
	p.stop()
	if err := p.start(); err != nil {
		tb.Fatal(err)
	}
}

// Kill sends SIGKILL to the server's process group, as a crash would, and
// waits until it is gone. PostgreSQL's backends, which live in groups of
// their own, exit when they see the postmaster die; Kill waits for that
// too. Start brings the server back.
func (s *server) Kill(tb testing.TB) {
	tb.Helper()
	s.control(tb, "Kill").kill()
}

// Pause freezes the server with SIGSTOP: connections stay open but nothing
// is answered, as with a hung server or a lost network. Resume undoes it.
func (s *server) Pause(tb testing.TB) {
	tb.Helper()
	if err := s.control(tb, "Pause").signal(syscall.SIGSTOP); err != nil {
		tb.Fatal(err)
	}
}

// Resume lets a paused server run again.
func (s *server) Resume(tb testing.TB) {
	tb.Helper()
	if err := s.control(tb, "Resume").signal(syscall.SIGCONT); err != nil {
		tb.Fatal(err)
	}
}

// startWithPortRetry builds a process with newProc for a fresh free port and
// starts it; when the log shows another program took the port first, it
// tries again on another.
func startWithPortRetry(bus bool, newProc func(port int) (*process, error)) (*process, int, error) {
	var lastErr error
	for range 3 {
		port, err := freePort(bus)
		if err != nil {
			return nil, 0, err
		}
		p, err := newProc(port)
		if err != nil {
			return nil, 0, err
		}
		if err := p.start(); err != nil {
			if errors.Is(err, ErrStartFailed) && p.startFailedOnBusyPort() {
				lastErr = err
				continue
			}
			return nil, 0, err
		}
		return p, port, nil
	}
	return nil, 0, fmt.Errorf("%w (gave up after three ports were taken)", lastErr)
}

// addrInUse is a portBusy test for servers that report a taken port the
// usual way (EADDRINUSE's text).
func addrInUse(log string) bool {
	return strings.Contains(log, "Address already in use")
}
