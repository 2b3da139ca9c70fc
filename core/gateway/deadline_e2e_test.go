package gateway_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/valyala/fasthttp"
)

// TestWriteTimeoutCutsAClientThatStopsReading: write_timeout still ends
// the response to a client that stops reading after a run of requests on
// its keep-alive connection, each of which pushed the write deadline a
// little later (the socket's deadline moves lazily: see conn's
// SetWriteDeadline). The big body is far more than loopback sockets
// buffer, so the gateway's write cannot finish until the client reads.
func TestWriteTimeoutCutsAClientThatStopsReading(t *testing.T) {
	const big = 16 << 20
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/big" {
			ctx.SetBody(make([]byte, big))
			return
		}
		ctx.SetBodyString("small")
	})
	g := gatewaytest.Start(t, `
[server]
write_timeout = "300ms"
[[upstreams]]
name = "u"
targets = [{ url = "`+up.URL+`" }]
[[routes]]
paths = ["/"]
upstream = "u"
`)
	c, err := net.Dial("tcp", g.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A small receive buffer: the gateway's writes stall soon after the
	// client stops reading, however slow the gateway (-race).
	c.(*net.TCPConn).SetReadBuffer(16 << 10)
	c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	for i := range 50 {
		fmt.Fprintf(c, "GET /small/%d HTTP/1.1\r\nHost: gw\r\n\r\n", i)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if !bytes.Equal(body, []byte("small")) {
			t.Fatalf("request %d: %q", i, body)
		}
	}
	fmt.Fprintf(c, "GET /big HTTP/1.1\r\nHost: gw\r\n\r\n")
	resp, err := http.ReadResponse(br, nil) // the head: the body is on its way
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.ContentLength != big {
		t.Fatalf("status %d, length %d: want the whole body announced", resp.StatusCode, resp.ContentLength)
	}
	time.Sleep(2 * time.Second) // not reading: the write stalls past write_timeout
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil && n == big {
		t.Fatalf("the whole %d bytes arrived: write_timeout did not end the write", n)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("after %d bytes the connection was still open: write_timeout did not close it", n)
	}
}
