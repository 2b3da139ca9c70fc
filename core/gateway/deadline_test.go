package gateway

import (
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// deadlineConn counts the write deadlines set on it.
type deadlineConn struct {
	net.Conn
	writes []time.Time
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	c.writes = append(c.writes, t)
	return nil
}

func (c *deadlineConn) SetDeadline(t time.Time) error { return c.SetWriteDeadline(t) }

// TestWriteDeadlineMovesRarely: fasthttp sets write_timeout from now
// before each response; the socket's deadline is set a little later
// and moved again only when it no longer covers the one asked for, so a
// busy connection's responses share one timer update, and the deadline
// is never earlier than asked. An earlier deadline, or none (a hijack),
// is set at once.
func TestWriteDeadlineMovesRarely(t *testing.T) {
	under := &deadlineConn{}
	c := &conn{Conn: under, srv: &fasthttp.Server{WriteTimeout: 30 * time.Second}}
	for range 1000 {
		want := time.Now().Add(30 * time.Second)
		if err := c.SetWriteDeadline(want); err != nil {
			t.Fatal(err)
		}
		last := under.writes[len(under.writes)-1]
		if last.Before(want) || last.Sub(want) > time.Second {
			t.Fatalf("the socket's deadline is %v after the one asked for", last.Sub(want))
		}
	}
	if n := len(under.writes); n > 2 {
		t.Errorf("1000 responses moved the socket's deadline %d times", n)
	}
	n := len(under.writes)
	c.SetWriteDeadline(time.Now().Add(time.Second))
	c.SetDeadline(time.Time{})
	if len(under.writes) != n+2 || !under.writes[n+1].IsZero() {
		t.Errorf("an earlier deadline and none: %v", under.writes[n:])
	}
}
