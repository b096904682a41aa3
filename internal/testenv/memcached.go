package testenv

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// MemcachedOptions configures a memcached server started by [NewMemcached].
// The zero value is a 64 MiB cache.
type MemcachedOptions struct {
	// MemoryMB is the cache size in MiB (memcached -m). Zero means 64.
	MemoryMB int

	// Args holds further memcached command-line arguments, such as
	// []string{"-I", "2m"}. Empty means none.
	Args []string
}

// Memcached is a memcached server on a loopback port: one started by this
// package (a restarted server comes back empty; Stop takes up to a second,
// as memcached acts on SIGTERM at its next one-second tick), or an external
// one named by [EnvMemcachedAddr]. Its methods are safe for concurrent use by
// multiple goroutines.
type Memcached struct {
	server
}

// NewMemcached starts a memcached server for tb alone, which tb may stop,
// kill and pause; it is removed when tb ends. A missing memcached skips
// tb, or fails it when CI is set.
func NewMemcached(tb testing.TB, opts MemcachedOptions) *Memcached {
	tb.Helper()
	requireMain(tb)
	m, err := startMemcached(opts, "NewMemcached")
	if err != nil {
		skipOrFatal(tb, err)
	}
	tb.Cleanup(m.close)
	return m
}

func startMemcached(opts MemcachedOptions, newFunc string) (*Memcached, error) {
	bin, err := lookBinary("memcached")
	if err != nil {
		return nil, err
	}
	mem := opts.MemoryMB
	if mem <= 0 {
		mem = 64
	}
	dir, err := newDir("memcached")
	if err != nil {
		return nil, err
	}
	proc, port, err := startWithPortRetry(false, func(port int) (*process, error) {
		addr := loopbackAddr(port)
		args := []string{
			"-l", "127.0.0.1", "-p", strconv.Itoa(port),
			"-U", "0", // no UDP
			"-m", strconv.Itoa(mem),
			"-t", "2", // threads: the machine has two cores
		}
		if os.Geteuid() == 0 {
			args = append(args, "-u", "root") // memcached refuses root unless told
		}
		args = append(args, opts.Args...)
		return &process{
			name:     "memcached " + addr,
			path:     bin,
			args:     args,
			dir:      dir,
			logPath:  filepath.Join(dir, "memcached.log"),
			stopSig:  syscall.SIGTERM,
			ready:    func(ctx context.Context) error { return memcachedVersion(ctx, addr) },
			portBusy: addrInUse,
		}, nil
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return &Memcached{server{kind: "memcached", newFunc: newFunc, addr: loopbackAddr(port), proc: proc, dir: dir}}, nil
}

// memcachedVersion asks the server its version, as a readiness check.
func memcachedVersion(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(5 * time.Second)
	}
	_ = conn.SetDeadline(deadline)
	if _, err := conn.Write([]byte("version\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "VERSION ") {
		return fmt.Errorf("version answered %q", strings.TrimSpace(line))
	}
	return nil
}

// close ends a server this package started and removes its files. It
// kills rather than stops: memcached keeps nothing, and takes up to a
// second to act on SIGTERM.
func (m *Memcached) close() {
	if m.proc != nil {
		m.proc.kill()
		_ = os.RemoveAll(m.dir)
	}
}

// externalMemcached returns the server EnvMemcachedAddr names, or nil.
func externalMemcached() *Memcached {
	addr := strings.TrimSpace(os.Getenv(EnvMemcachedAddr))
	if addr == "" {
		return nil
	}
	return &Memcached{server{kind: "memcached", newFunc: "NewMemcached", addr: addr, extVar: EnvMemcachedAddr, shared: true}}
}
