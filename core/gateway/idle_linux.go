package gateway

import (
	"sync"
	"syscall"
)

// epoll watches the parked sockets: one epoll set, one goroutine (and
// the OS thread it blocks) for every parked connection of the gateway.
// Each socket is added for one event (EPOLLONESHOT), tagged with its park
// ID: once reported it stays in the set, disabled, until it is added
// again (EPOLL_CTL_MOD) or closed, which takes it out of the set.
type epoll struct {
	fd     int
	wake   [2]int // a pipe: closing wake[1] ends run
	closed sync.Once
}

// epollEvents: readable, or the client closed or reset the connection
// (EPOLLHUP and EPOLLERR are always reported). Either way the connection
// goes back to fasthttp, which reads the request or the end.
const epollEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

// newPoller starts an epoll set that reports each ready socket's ID to
// ready, or returns nil if the OS refuses one.
func newPoller(ready func(id uint32)) poller {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil
	}
	e := &epoll{fd: fd}
	if err := syscall.Pipe2(e.wake[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		syscall.Close(fd)
		return nil
	}
	// ID 0 is the pipe's.
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN}
	if err := syscall.EpollCtl(fd, syscall.EPOLL_CTL_ADD, e.wake[0], &ev); err != nil {
		syscall.Close(fd)
		syscall.Close(e.wake[0])
		syscall.Close(e.wake[1])
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
	return syscall.EpollCtl(e.fd, op, fd, &ev)
}

func (e *epoll) run(ready func(id uint32)) {
	defer func() {
		syscall.Close(e.fd)
		syscall.Close(e.wake[0])
	}()
	events := make([]syscall.EpollEvent, 128)
	for {
		n, err := syscall.EpollWait(e.fd, events, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return
		}
		for _, ev := range events[:n] {
			id := uint32(ev.Fd)
			if id == 0 {
				return
			}
			ready(id)
		}
	}
}

func (e *epoll) close() {
	e.closed.Do(func() { syscall.Close(e.wake[1]) })
}
