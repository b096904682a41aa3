package testenv

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
)

// Ports are drawn from [portLow, portHigh), below Linux's default ephemeral
// range (32768–60999). A port from that range could be handed to some
// outgoing connection's local end while its server is stopped, and Start
// could then not bind it again. A Redis Cluster node also needs its port
// plus clusterBusOffset, which stays below 32768 too.
const (
	portLow          = 15000
	portHigh         = 22700
	clusterBusOffset = 10000
)

// ports remembers what this process handed out, so that a stopped server's
// port is not given to another server of the same test binary.
var ports struct {
	mu   sync.Mutex
	used map[int]bool // guarded by mu
}

// freePort returns a loopback port nothing listens on; with bus, port +
// clusterBusOffset is free too. Another test binary may pick the same port
// before the server binds it: servers retry start-up on a new port when
// their log says the port was taken.
func freePort(bus bool) (int, error) {
	ports.mu.Lock()
	defer ports.mu.Unlock()
	if ports.used == nil {
		ports.used = map[int]bool{}
	}
	for range 500 {
		p := portLow + rand.IntN(portHigh-portLow)
		if ports.used[p] || (bus && ports.used[p+clusterBusOffset]) || !canListen(p) || (bus && !canListen(p+clusterBusOffset)) {
			continue
		}
		ports.used[p] = true
		if bus {
			ports.used[p+clusterBusOffset] = true
		}
		return p, nil
	}
	return 0, fmt.Errorf("testenv: no free loopback port in [%d, %d) after 500 tries", portLow, portHigh)
}

// FreePort returns a loopback port nothing listens on, outside the
// ephemeral range (see portLow), for a server a harness starts by other
// means (a container whose host port it pins).
func FreePort() (int, error) { return freePort(false) }

func canListen(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func loopbackAddr(port int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}
