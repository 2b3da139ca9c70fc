//go:build unix

package upstream

import (
	"net"
	"syscall"
)

// idleCheck looks at a pooled connection, just before a request is
// written on it, for signs that the target has closed it while it was
// idle: a FIN (end of stream), a reset, or bytes nobody asked for (a
// TLS close_notify, a stray answer). It peeks at the socket without
// blocking and without consuming anything, as net/http learns the same
// from its background read on idle connections. Everything it needs is
// made once per connection, so a check allocates nothing.
type idleCheck struct {
	raw    syscall.RawConn
	fn     func(fd uintptr) bool // c.peek, bound once
	buf    [1]byte
	closed bool
}

func (c *idleCheck) init(conn net.Conn) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	c.raw = raw
	c.fn = c.peek
}

// peerClosed reports whether the connection can no longer carry a
// request. The connection's deadline must lie in the future (a passed
// deadline reads as closed). Without a socket to look at it reports
// false: the request is written and the rules for a failed write apply.
func (c *idleCheck) peerClosed() bool {
	if c.raw == nil {
		return false
	}
	c.closed = false
	if err := c.raw.Read(c.fn); err != nil {
		return true
	}
	return c.closed
}

// peek runs with the socket's descriptor (non-blocking, as every socket
// of Go's poller is). It always reports done, so Read never waits.
func (c *idleCheck) peek(fd uintptr) bool {
	for {
		_, _, err := syscall.Recvfrom(int(fd), c.buf[:], syscall.MSG_PEEK)
		if err == syscall.EINTR {
			continue
		}
		// Nothing to read means idle and open; anything else (a reset,
		// the end of the stream, bytes nobody asked for) means closed.
		c.closed = err != syscall.EAGAIN && err != syscall.EWOULDBLOCK
		return true
	}
}
