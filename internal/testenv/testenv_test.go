package testenv_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/internal/testenv"
)

func TestMissingBinarySkipsOrFailsInCI(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no memcached there
	for _, tc := range []struct {
		name, ci string
		wantSkip bool
	}{
		{name: "developer", ci: "", wantSkip: true},
		{name: "CI", ci: "true", wantSkip: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			r := record(t, func(tb testing.TB) { testenv.NewMemcached(tb, testenv.MemcachedOptions{}) })
			got, other := r.fatal, r.skip
			if tc.wantSkip {
				got, other = r.skip, r.fatal
			}
			if other != "" || !strings.Contains(got, "memcached not found") || !strings.Contains(got, "scripts/test-deps.sh") {
				t.Fatalf("with CI=%q: skip %q, fatal %q; want a %s naming memcached and scripts/test-deps.sh",
					tc.ci, r.skip, r.fatal, map[bool]string{true: "skip", false: "failure"}[tc.wantSkip])
			}
		})
	}
}

func TestSharedServersRefuseFaultInjection(t *testing.T) {
	t.Parallel()
	r := testenv.SharedRedis(t)
	for name, op := range map[string]func(testing.TB){"Stop": r.Stop, "Kill": r.Kill, "Pause": r.Pause} {
		rec := record(t, op)
		if !strings.Contains(rec.fatal, "shared") || !strings.Contains(rec.fatal, "NewRedis") {
			t.Errorf("%s on the shared server: fatal %q; want one saying it is shared and to use NewRedis", name, rec.fatal)
		}
	}
	if r.External() {
		return
	}
	if err := redisPing(r.Addr()); err != nil {
		t.Fatalf("shared server down after refused fault injection: %v", err)
	}
}

func redisPing(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprint(conn, "PING\r\n")
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING: %q", line)
	}
	return nil
}

func TestExternalServers(t *testing.T) {
	t.Setenv(testenv.EnvRedisAddr, "redis://:pw@127.0.0.1:1234")
	r, err := testenv.ExternalRedis()
	if err != nil || r.Addr() != "127.0.0.1:1234" || r.Password() != "pw" || !r.External() {
		t.Fatalf("ExternalRedis: %+v, %v; want 127.0.0.1:1234 with password pw", r, err)
	}
	if rec := record(t, r.Kill); !strings.Contains(rec.fatal, testenv.ErrNoProcessControl.Error()) ||
		!strings.Contains(rec.fatal, "external") || !strings.Contains(rec.fatal, testenv.EnvRedisAddr) {
		t.Errorf("Kill of an external server: fatal %q; want one saying it is external, naming %s", rec.fatal, testenv.EnvRedisAddr)
	}
	t.Setenv(testenv.EnvRedisAddr, "127.0.0.1:4321")
	if r, err := testenv.ExternalRedis(); err != nil || r.Addr() != "127.0.0.1:4321" || r.Password() != "" {
		t.Errorf("ExternalRedis(host:port): %+v, %v", r, err)
	}

	t.Setenv(testenv.EnvPostgresURL, "postgres://u:p@db.example:5433/app?sslmode=disable")
	pg, err := testenv.ExternalPostgres()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pg.DSNFor("other"), "postgres://u:p@db.example:5433/other?sslmode=disable"; got != want {
		t.Errorf("DSNFor(other) = %q, want %q", got, want)
	}
	t.Setenv(testenv.EnvPostgresURL, "host=x")
	if _, err := testenv.ExternalPostgres(); err == nil || !strings.Contains(err.Error(), testenv.EnvPostgresURL) {
		t.Errorf("a key=value DSN: err %v; want one naming %s", err, testenv.EnvPostgresURL)
	}

	t.Setenv(testenv.EnvRedisClusterAddrs, " 127.0.0.1:7000,127.0.0.1:7001 ,,")
	if got := testenv.ExternalRedisCluster().Addrs(); len(got) != 2 || got[1] != "127.0.0.1:7001" {
		t.Errorf("cluster addrs %q", got)
	}

	t.Setenv(testenv.EnvRedisSentinelAddrs, "127.0.0.1:26379")
	t.Setenv(testenv.EnvRedisSentinelMaster, "")
	if _, err := testenv.ExternalRedisSentinel(); err == nil || !strings.Contains(err.Error(), testenv.EnvRedisSentinelMaster) {
		t.Errorf("sentinel addrs without master name: err %v; want one naming %s", err, testenv.EnvRedisSentinelMaster)
	}
	t.Setenv(testenv.EnvRedisSentinelMaster, "m")
	if s, err := testenv.ExternalRedisSentinel(); err != nil || s.MasterName() != "m" || s.Master() != nil {
		t.Errorf("ExternalRedisSentinel: %+v, %v", s, err)
	}

	t.Setenv(testenv.EnvMemcachedAddr, "127.0.0.1:11211")
	if m := testenv.ExternalMemcached(); m.Addr() != "127.0.0.1:11211" || !m.External() {
		t.Errorf("ExternalMemcached: %+v", m)
	}
}

const deathHelperEnv = "TESTENV_DEATH_HELPER"

// TestServersDieWithTheTestBinary runs this test binary again as a helper
// that starts servers, SIGKILLs it, and sees every server go with it.
func TestServersDieWithTheTestBinary(t *testing.T) {
	if os.Getenv(deathHelperEnv) != "" {
		deathHelper(t)
		return
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestServersDieWithTheTestBinary$", "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), deathHelperEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	type started struct {
		kind, addr, dir, shmid string
		pid                    int
	}
	var servers []started
	var output strings.Builder
	scanner := bufio.NewScanner(stdout)
	for scanner.Scan() {
		line := scanner.Text()
		output.WriteString(line + "\n")
		var s started
		if n, _ := fmt.Sscanf(line, "SERVER %s %d %s %s %s", &s.kind, &s.pid, &s.addr, &s.dir, &s.shmid); n >= 4 {
			servers = append(servers, s)
		}
		if line == "READY" {
			break
		}
	}
	if len(servers) != 3 {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper did not start its servers; it printed:\n%s%s", output.String(), stderr.String())
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	deadline := time.Now().Add(10 * time.Second)
	for _, s := range servers {
		for {
			// The whole process group: PostgreSQL's backends too.
			gone := errors.Is(syscall.Kill(-s.pid, 0), syscall.ESRCH)
			conn, dialErr := net.DialTimeout("tcp", s.addr, 200*time.Millisecond)
			if dialErr == nil {
				conn.Close()
			}
			if gone && dialErr != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s (pid %d, %s) outlived the test binary that started it (group gone: %v, dial: %v)",
					s.kind, s.pid, s.addr, gone, dialErr)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// The dead binary's files, and PostgreSQL's shared memory, go at the
	// next sweep.
	testenv.SweepStaleDirs()
	for _, s := range servers {
		if _, err := os.Stat(s.dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s's directory %s survived the sweep (%v)", s.kind, s.dir, err)
		}
		// Removed once the last backend has detached.
		for s.kind == "postgres" && s.shmid != "" && shmExists(s.shmid) {
			if time.Now().After(deadline) {
				t.Errorf("postgres's shared memory block %s survived the sweep", s.shmid)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func deathHelper(t *testing.T) {
	// Start Redis from a goroutine whose OS thread ends with it: with
	// Pdeathsig tied to the forking thread, a server forked there would die.
	ch := make(chan *testenv.Redis)
	go func() {
		// Hold this thread, which may be the main one (Go never ends that),
		// so that the goroutine below runs on another.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		done := make(chan struct{})
		go func() {
			defer close(done)
			runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
			ch <- testenv.NewRedis(t, testenv.RedisOptions{})
		}()
		<-done
	}()
	r := <-ch
	pg := testenv.NewPostgres(t, testenv.PostgresOptions{})
	mc := testenv.SharedMemcached(t)
	time.Sleep(200 * time.Millisecond)
	if err := redisPing(r.Addr()); err != nil {
		fmt.Printf("redis died when the thread that asked for it exited: %v\n", err)
		return
	}
	// Each server's directory is processDir/<kind>-*, under the binary's own.
	processDir := filepath.Dir(filepath.Dir(r.LogFile()))
	fmt.Printf("SERVER redis %d %s %s\n", r.PID(), r.Addr(), processDir)
	fmt.Printf("SERVER postgres %d %s %s %s\n", pg.PID(), pg.Addr(), processDir, pgShmid(t, pg))
	fmt.Printf("SERVER memcached %d %s %s\n", mc.PID(), mc.Addr(), processDir)
	fmt.Println("READY")
	select {} // until SIGKILLed
}
