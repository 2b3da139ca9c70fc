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

	// The request's last bytes as writeThenWait sends them.
	sendFn  func(fd uintptr) bool // c.send, bound once
	out     []byte
	outN    int
	outDone bool
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
	c.sendFn = c.send
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

// writeThenWait writes p, the last bytes of a request, on the socket and
// then waits until the reply can be read, so that the read that follows
// finds bytes at once. A plain write and read would try the read right
// after the write, find nothing yet (EAGAIN, a system call for nothing)
// and only then wait. The wait must begin before the write: Go's poller
// forgets a readiness that came before a wait is prepared, so the write
// happens inside the raw read, after its preparation.
//
// It reports how many bytes of p the socket took; when not all of p
// went out (no socket to write on, a full send buffer, an error), the
// caller writes the rest the usual way, which reports the error as a
// net.Conn does. A failed wait (the deadline passed, the connection
// closed) is not reported: the read that follows fails the same way.
func (c *idleCheck) writeThenWait(p []byte) int {
	if c.raw == nil {
		return 0
	}
	c.out, c.outN, c.outDone = p, 0, false
	_ = c.raw.Read(c.sendFn)
	n := c.outN
	c.out = nil
	return n
}

// send runs inside the raw read of writeThenWait: the first call writes
// and asks to wait (false) when all was written; the call after the wait
// reports done, the reply being readable.
func (c *idleCheck) send(fd uintptr) bool {
	if c.outDone {
		return true
	}
	c.outDone = true
	for c.outN < len(c.out) {
		m, err := syscall.Write(int(fd), c.out[c.outN:])
		if m > 0 {
			c.outN += m
		}
		if err == syscall.EINTR {
			continue
		}
		if err != nil || m <= 0 {
			return true
		}
	}
	return false
}
