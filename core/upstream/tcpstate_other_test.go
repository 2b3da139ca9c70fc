//go:build !linux || 386

package upstream

import (
	"errors"
	"net"
)

// tcpStateSupported is false: the tests that need waitTCPState skip.
const tcpStateSupported = false

const (
	tcpFinWait2 = 5
	tcpTimeWait = 6
	tcpClose    = 7
)

// waitTCPState needs Linux's TCP_INFO (getsockopt, which linux/386
// reaches only through socketcall).
func waitTCPState(*net.TCPConn, ...uint8) error {
	return errors.New("waitTCPState: not supported on this system")
}
