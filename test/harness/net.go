package harness

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
)

// Ports for children (metrics, NATS client and route ports) come from
// below the kernel's ephemeral range (32768-60999 on Linux): a port that
// was free when asked for with :0 could be taken as the local end of some
// outgoing connection before the child binds it, and a child that cannot
// bind its port refuses to start. Each port is handed out once per run.
const (
	portLo = 20000
	portHi = 32000
)

var (
	portMu   sync.Mutex
	nextPort = portLo + rand.IntN(portHi-portLo)
)

// freePort returns a loopback port nobody listens on and that this
// process has not handed out before.
func freePort() int {
	portMu.Lock()
	defer portMu.Unlock()
	for range portHi - portLo {
		p := nextPort
		nextPort++
		if nextPort >= portHi {
			nextPort = portLo
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		ln.Close()
		return p
	}
	return 0
}

// freeAddr finds a free loopback address for a child's metrics server.
func freeAddr() string { return fmt.Sprintf("127.0.0.1:%d", freePort()) }
