package testenv_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/internal/testenv"
)

// mcDo sends one text-protocol request and returns the reply up to and
// including a line that starts with one of the terminators.
func mcDo(addr, request string, terminators ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte(request)); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	var reply strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return reply.String(), err
		}
		reply.WriteString(line)
		for _, term := range terminators {
			if strings.HasPrefix(line, term) {
				return reply.String(), nil
			}
		}
	}
}

func mcSet(addr, key, value string) error {
	reply, err := mcDo(addr, fmt.Sprintf("set %s 0 0 %d\r\n%s\r\n", key, len(value), value), "STORED", "ERROR", "SERVER_ERROR", "CLIENT_ERROR")
	if err != nil {
		return err
	}
	if reply != "STORED\r\n" {
		return fmt.Errorf("set %s: %q", key, reply)
	}
	return nil
}

// mcGet returns the value of key, or "" when there is none.
func mcGet(addr, key string) (string, error) {
	reply, err := mcDo(addr, "get "+key+"\r\n", "END", "ERROR", "SERVER_ERROR", "CLIENT_ERROR")
	if err != nil {
		return "", err
	}
	lines := strings.Split(reply, "\r\n")
	if len(lines) >= 3 && strings.HasPrefix(lines[0], "VALUE ") {
		return lines[1], nil
	}
	return "", nil
}

func TestSharedMemcachedRoundTrip(t *testing.T) {
	t.Parallel()
	addr := testenv.SharedMemcached(t).Addr()
	if err := mcSet(addr, "testenv-shared", "hello"); err != nil {
		t.Fatal(err)
	}
	if got, err := mcGet(addr, "testenv-shared"); err != nil || got != "hello" {
		t.Fatalf("get: %q, %v; want hello", got, err)
	}
}

func TestMemcachedStopStartKill(t *testing.T) {
	t.Parallel()
	mc := testenv.NewMemcached(t, testenv.MemcachedOptions{MemoryMB: 8})
	addr := mc.Addr()
	for _, step := range []struct {
		name   string
		break_ func(testing.TB)
	}{{"stop", mc.Stop}, {"kill", mc.Kill}} {
		if err := mcSet(addr, "k", "v"); err != nil {
			t.Fatal(err)
		}
		step.break_(t)
		if _, err := mcGet(addr, "k"); err == nil {
			t.Fatalf("after %s: server still answers", step.name)
		}
		mc.Start(t)
		if got, err := mcGet(addr, "k"); err != nil || got != "" {
			t.Fatalf("after %s and Start: get k = %q, %v; want an empty server", step.name, got, err)
		}
	}
	mc.Restart(t)
	if err := mcSet(addr, "k", "v"); err != nil {
		t.Fatalf("after Restart: %v", err)
	}
}
