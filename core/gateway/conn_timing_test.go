package gateway

import (
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// readyConn is a net.Conn whose reads always have the first byte of a
// request and whose deadlines cost nothing.
type readyConn struct{ net.Conn }

func (readyConn) Read(p []byte) (int, error)      { return copy(p, "G"), nil }
func (readyConn) SetReadDeadline(time.Time) error { return nil }

// BenchmarkConnRequestTurn is what the connection wrapper does for each
// request of a busy keep-alive connection, as fasthttp's server loop
// calls it: idle, the wait's deadline, the first read, active, the
// request's deadline. The socket is a stub: only the wrapper is measured.
func BenchmarkConnRequestTurn(b *testing.B) {
	c := &conn{}
	c.init(readyConn{}, listener{buf: 8192, park: newParker()})
	buf := make([]byte, 8192)
	idle, read := time.Now().Add(time.Hour), time.Now().Add(time.Hour)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		connState(c, fasthttp.StateIdle)
		c.SetReadDeadline(idle)
		if _, err := c.Read(buf); err != nil {
			b.Fatal(err)
		}
		connState(c, fasthttp.StateActive)
		c.SetReadDeadline(read)
	}
}
