package gateway

import (
	"os"
	"syscall"
)

// epoll watches the parked sockets: one epoll set for every parked
// connection of the gateway. The set's own descriptor is watched by the Go
// runtime's network poller, so the goroutine that reads the set's events
// sleeps there, as a goroutine reading a socket does, rather than holding
// a thread blocked in epoll_wait. Each socket is added for one event
// (EPOLLONESHOT), tagged with its park ID: once reported it stays in the
// set, disabled, until it is added again (EPOLL_CTL_MOD) or closed, which
// takes it out of the set.
type epoll struct {
	file *os.File        // the set, as the runtime's poller watches it
	rc   syscall.RawConn // file's descriptor, for epoll_ctl while file is open
}

// epollEvents: readable, or the client closed or reset the connection
// (EPOLLHUP and EPOLLERR are always reported). Either way the connection
// goes back to fasthttp, which reads the request or the end. Level
// triggered: bytes that came before the socket was added are reported.
const epollEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

// newPoller starts an epoll set that reports each ready socket's ID to
// ready, or returns nil if the OS refuses one.
func newPoller(ready func(id uint32)) poller {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil
	}
	e := &epoll{file: os.NewFile(uintptr(fd), "moongate-parked")}
	if e.rc, err = e.file.SyscallConn(); err != nil {
		e.file.Close()
		return nil
	}
	go e.run(ready)
	return e
}

func (e *epoll) add(fd int, id uint32, again bool) error {
	ev := syscall.EpollEvent{Events: epollEvents, Fd: int32(id)}
	op := syscall.EPOLL_CTL_ADD
	if again {
		op = syscall.EPOLL_CTL_MOD // still in the set, disabled since its last event
	}
	var err error
	if cerr := e.rc.Control(func(set uintptr) { err = syscall.EpollCtl(int(set), op, fd, &ev) }); cerr != nil {
		return cerr // closed
	}
	return err
}

// run reports the set's events until close: each time the runtime's poller
// finds the set readable, it takes every event there is, without waiting.
func (e *epoll) run(ready func(id uint32)) {
	events := make([]syscall.EpollEvent, 128)
	e.rc.Read(func(fd uintptr) bool { //nolint:errcheck // ends with close
		for {
			n, err := syscall.EpollWait(int(fd), events, 0)
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				return true
			}
			for _, ev := range events[:n] {
				ready(uint32(ev.Fd))
			}
			if n < len(events) {
				return false // none left: wait for the next
			}
		}
	})
}

// close stops run, once the events it is reporting are reported: the
// caller must not hold what ready takes.
func (e *epoll) close() { e.file.Close() }
