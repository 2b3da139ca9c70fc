package gateway

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// setReusePort is the net.ListenConfig.Control of reuse_port listeners.
func setReusePort(_, _ string, c syscall.RawConn) error {
	var err error
	if cerr := c.Control(func(fd uintptr) {
		err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	}); cerr != nil {
		return cerr
	}
	return err
}
