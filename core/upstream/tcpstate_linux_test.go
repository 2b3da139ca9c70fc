//go:build linux && !386

package upstream

import (
	"errors"
	"net"
	"syscall"
	"time"
	"unsafe"
)

// tcpStateSupported: waitTCPState works here.
const tcpStateSupported = true

// TCP states as Linux's TCP_INFO reports them.
const (
	tcpFinWait2 = 5
	tcpTimeWait = 6
	tcpClose    = 7
)

// tcpState returns the kernel's state of c (Linux TCP_INFO).
func tcpState(c *net.TCPConn) (uint8, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var info syscall.TCPInfo
	size := uint32(unsafe.Sizeof(info))
	var errno syscall.Errno
	if err := raw.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_INFO,
			uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&size)), 0)
	}); err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, errno
	}
	return info.State, nil
}

// waitTCPState waits (at most 10 s) until c is in one of states. The
// kernel offers no notification for a state change: it is polled.
func waitTCPState(c *net.TCPConn, states ...uint8) error {
	end := time.Now().Add(10 * time.Second)
	for time.Now().Before(end) {
		s, err := tcpState(c)
		if err != nil {
			return err
		}
		for _, want := range states {
			if s == want {
				return nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return errors.New("the connection did not reach the expected TCP state within 10s")
}
