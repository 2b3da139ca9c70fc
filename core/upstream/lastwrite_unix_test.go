//go:build unix

package upstream

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// lastWriteTarget accepts one connection, reads one request from it (a
// head and a Content-Length body) and answers it after a short pause, as
// a target that takes its time. It reports the body's size it read.
func lastWriteTarget(t *testing.T) (addr string, got <-chan int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan int, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(20 * time.Second)) //nolint:errcheck // bounds a stuck test
		var req fasthttp.Request
		if err := req.Read(bufio.NewReader(c)); err != nil {
			ch <- -1
			return
		}
		ch <- len(req.Body())
		time.Sleep(20 * time.Millisecond)                                 // a target that takes its time
		c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")) //nolint:errcheck // the test reads it
	}()
	return ln.Addr().String(), ch
}

// readable reports whether bytes wait on c's socket, without blocking.
func readable(t *testing.T, c net.Conn) bool {
	t.Helper()
	raw, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var rerr error
	raw.Control(func(fd uintptr) { //nolint:errcheck // a failed Control reads as nothing readable
		var b [1]byte
		n, _, rerr = syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	})
	return rerr == nil && n > 0
}

// TestLastWriteWaitsForTheReply: the write that ends a request returns
// once the target's reply can be read, so the read that follows finds it
// at once instead of trying in vain first (one system call fewer per
// request); the request arrives whole and the reply is read as before.
func TestLastWriteWaitsForTheReply(t *testing.T) {
	addr, got := lastWriteTarget(t)
	conn, err := dialTracked(addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck // bounds a stuck test
	tc := conn.(*trackedConn)
	req := []byte("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nbody")
	tc.lastWrite = true
	n, err := tc.Write(req)
	if err != nil || n != len(req) {
		t.Fatalf("write: %d, %v; want %d, nil", n, err, len(req))
	}
	if tc.written != int64(len(req)) {
		t.Fatalf("written = %d, want %d", tc.written, len(req))
	}
	if !readable(t, tc.Conn) {
		t.Fatal("the write returned before the reply could be read")
	}
	if size := <-got; size != 4 {
		t.Fatalf("target read a body of %d bytes, want 4", size)
	}
	assertReply(t, conn)
}

// TestLastWriteLargerThanTheSocketTakes: a last write the socket cannot
// take at once (larger than its send buffer) is finished the usual way;
// the target gets every byte and the reply is read.
func TestLastWriteLargerThanTheSocketTakes(t *testing.T) {
	addr, got := lastWriteTarget(t)
	conn, err := dialTracked(addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck // bounds a stuck test
	tc := conn.(*trackedConn)
	body := bytes.Repeat([]byte("x"), 16<<20)
	req := append([]byte("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 16777216\r\n\r\n"), body...)
	tc.lastWrite = true
	n, err := tc.Write(req)
	if err != nil || n != len(req) {
		t.Fatalf("write: %d, %v; want %d, nil", n, err, len(req))
	}
	if tc.written != int64(len(req)) {
		t.Fatalf("written = %d, want %d", tc.written, len(req))
	}
	if size := <-got; size != len(body) {
		t.Fatalf("target read a body of %d bytes, want %d", size, len(body))
	}
	assertReply(t, conn)
}

func assertReply(t *testing.T, conn net.Conn) {
	t.Helper()
	var resp fasthttp.Response
	if err := resp.Read(bufio.NewReader(conn)); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode() != 200 || string(resp.Body()) != "ok" {
		t.Fatalf("reply %d %q", resp.StatusCode(), resp.Body())
	}
}

// TestLastWriteToAClosedTarget: a last write on a connection the target
// has reset fails as a plain write does: a stale-connection error (so the
// replay rules apply), nothing counted as written.
func TestLastWriteToAClosedTarget(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dialled, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		<-dialled
		c.(*net.TCPConn).SetLinger(0) //nolint:errcheck // a reset on close
		c.Close()
	}()
	conn, err := dialTracked(ln.Addr().String(), time.Second)
	close(dialled)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck // bounds a stuck test
	<-done
	// The reset arrives when the kernel has processed the close; a read
	// that fails tells it has.
	tc := conn.(*trackedConn)
	if _, err := io.ReadFull(conn, make([]byte, 1)); err == nil {
		t.Fatal("read from a reset connection succeeded")
	}
	tc.lastWrite = true
	_, err = tc.Write([]byte("GET / HTTP/1.1\r\nHost: t\r\n\r\n"))
	if err == nil || !staleConn(err) {
		t.Fatalf("write error %v, want a stale-connection error", err)
	}
	if tc.written != 0 {
		t.Fatalf("written = %d, want 0", tc.written)
	}
	if !strings.Contains(err.Error(), "write") {
		t.Fatalf("error %q does not name the write", err)
	}
}
