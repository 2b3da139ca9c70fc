//go:build !linux

package gateway

import (
	"errors"
	"syscall"
)

// setReusePort fails: config refuses reuse_port outside Linux.
func setReusePort(_, _ string, _ syscall.RawConn) error {
	return errors.New("reuse_port is supported on Linux only")
}
