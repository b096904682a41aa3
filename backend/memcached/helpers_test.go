package memcached_test

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend/memcached"
	"github.com/dogpile-go/dogpile/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var prefixes atomic.Int64

// newStore returns a store on addr whose keys no other test sees.
func newStore(t *testing.T, addr string, o memcached.Options) *memcached.Store {
	t.Helper()
	o.Servers = []string{addr}
	o.KeyPrefix += fmt.Sprintf("t%d-%d:", time.Now().UnixNano(), prefixes.Add(1))
	return openStore(t, o)
}

// openStore returns a store for o, closed at the end of t.
func openStore(t *testing.T, o memcached.Options) *memcached.Store {
	t.Helper()
	s, err := memcached.New(o)
	if err != nil {
		t.Fatalf("New(%+v): %v", o, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// serverTTL asks the server how long it will keep key (memcached's meta
// get with the t flag): ok is false when the key is missing; ttl is -1s
// when the key never expires.
func serverTTL(t *testing.T, addr, key string) (ttl time.Duration, ok bool) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(conn, "mg %s t\r\n", key); err != nil {
		t.Fatalf("mg %s: %v", key, err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("mg %s: %v", key, err)
	}
	line = strings.TrimSpace(line)
	if line == "EN" {
		return 0, false
	}
	for _, f := range strings.Fields(line)[1:] {
		if strings.HasPrefix(f, "t") {
			n, err := strconv.Atoi(f[1:])
			if err != nil {
				t.Fatalf("mg %s answered %q", key, line)
			}
			return time.Duration(n) * time.Second, true
		}
	}
	t.Fatalf("mg %s answered %q, with no TTL", key, line)
	return 0, false
}

// within fails t unless the call took at most limit.
func within(t *testing.T, what string, limit time.Duration, fn func() error) error {
	t.Helper()
	start := time.Now()
	err := fn()
	if took := time.Since(start); took > limit {
		t.Errorf("%s took %v, want at most %v", what, took, limit)
	}
	return err
}

// rawConn speaks memcached's text protocol directly, to do what the store
// never does (write a foreign value, read a TTL).
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawConn{Conn: conn, r: bufio.NewReader(conn)}
}

// cmd sends send and fails t unless the server answers the line want.
func (c *rawConn) cmd(t *testing.T, send, want string) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(send)); err != nil {
		t.Fatalf("%q: %v", send, err)
	}
	line, err := c.r.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != want {
		t.Fatalf("%q answered %q, %v; want %q", send, line, err, want)
	}
}
