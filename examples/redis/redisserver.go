package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// errNoRedis is returned when there is no Redis to run on.
var errNoRedis = errors.New("redis example: this example needs Redis. Set REDIS_URL to a server's URL " +
	"(REDIS_URL=redis://localhost:6379/0 go run .), or install redis-server " +
	"(apt-get install redis-server, brew install redis) and the example starts one for the run on a free loopback port")

// openRedis returns the URL of the Redis the example runs on: REDIS_URL,
// or else a redis-server from PATH that it starts for the run. stop ends
// the server it started, if any.
func openRedis(ctx context.Context, w io.Writer) (url string, stop func(), err error) {
	if url := os.Getenv("REDIS_URL"); url != "" {
		fmt.Fprintln(w, "redis: REDIS_URL")
		return url, func() {}, nil
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", nil, errNoRedis
	}
	url, stop, err = startRedis(ctx, bin)
	if err != nil {
		return "", nil, fmt.Errorf("redis example: REDIS_URL is not set, and starting %s failed: %w", bin, err)
	}
	fmt.Fprintln(w, "redis: a redis-server started for this run on a free loopback port (REDIS_URL is not set)")
	return url, stop, nil
}

// startRedis starts bin on a free loopback port, with no persistence, and
// waits until it answers.
func startRedis(ctx context.Context, bin string) (url string, stop func(), err error) {
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "dogpile-example-redis-*")
	if err != nil {
		return "", nil, err
	}
	var log bytes.Buffer
	cmd := exec.Command(bin,
		"--bind", "127.0.0.1", "--port", strconv.Itoa(port),
		"--save", "", "--appendonly", "no", "--dir", dir)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		os.RemoveAll(dir)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	client := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1})
	defer client.Close()
	err = poll(ctx, 10*time.Second, func() (bool, string) {
		select {
		case <-exited:
			return true, "" // said below
		default:
		}
		ping, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		err := client.Ping(ping).Err()
		return err == nil, fmt.Sprintf("no answer on %s: %v", addr, err)
	})
	select {
	case <-exited:
		if err == nil {
			err = fmt.Errorf("it exited (%v)", waitErr)
		}
	default:
	}
	if err != nil {
		stop()
		return "", nil, fmt.Errorf("%w; its log:\n%s", err, log.String())
	}
	return "redis://" + addr + "/0", stop, nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// newKeyPrefix returns a key prefix of its own for this run, so that runs
// sharing a Redis (tests, or two at once) never see each other's keys.
func newKeyPrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "dogpile-example-redis:" + hex.EncodeToString(b[:]) + ":"
}

// removeKeys deletes this run's keys, whatever Redis the run was on.
func removeKeys(url, prefix string) error {
	opts, err := goredis.ParseURL(url)
	if err != nil {
		return err
	}
	client := goredis.NewClient(opts)
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	it := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for it.Next(ctx) {
		keys = append(keys, it.Val())
	}
	if err := it.Err(); err != nil {
		return err
	}
	for chunk := range slices.Chunk(keys, 500) {
		if err := client.Unlink(ctx, chunk...).Err(); err != nil {
			return err
		}
	}
	return nil
}
