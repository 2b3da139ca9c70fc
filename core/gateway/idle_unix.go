//go:build unix

package gateway

import "syscall"

// canWait says whether a goroutine can wait for a parked socket here.
const canWait = true

// readable reports whether the socket fd has bytes to read, or has ended,
// without reading them: the goroutine's wait (parker.await) checks it
// before it sleeps until the socket becomes readable, as a read would.
func readable(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK) // the socket is non-blocking
	return err != syscall.EAGAIN && err != syscall.EWOULDBLOCK && err != syscall.EINTR
}
