package gateway

import (
	"bufio"
	"net"
	"testing"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
	_ "github.com/moongate/moongate/plugins/mock"
	"github.com/valyala/fasthttp"
)

// nopLog is a log step that does nothing: what is measured is the
// engine's work to run a log phase after the write.
type nopLog struct{}

func (nopLog) OnLog(*plugin.Context) {}

func init() {
	plugin.Register("gateway-test-nop-log", func(plugin.Spec) (any, error) { return nopLog{}, nil })
}

// connClient is a keep-alive client of a gateway served over one
// loopback connection, through the gateway's conn wrapper.
type connClient struct {
	c    net.Conn
	br   *bufio.Reader
	req  []byte
	resp fasthttp.Response
}

// serveOverConn builds a gateway answering "hello" (mock) on "/", with
// the given global chain, and a client connected to it.
func serveOverConn(tb testing.TB, plugins string) *connClient {
	tb.Helper()
	cfg, err := config.Parse("conn.toml", []byte(`
[admin]
listen = ""
`+plugins+`
[[plugins]]
name = "mock"
[plugins.config]
body = "hello"
[[routes]]
paths = ["/"]
`))
	if err != nil {
		tb.Fatal(err)
	}
	g, err := New(cfg, nil)
	if err != nil {
		tb.Fatal(err)
	}
	srv := g.newServer(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	server, err := listener{Listener: ln, buf: srv.ReadBufferSize}.Accept()
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.ServeConn(server) //nolint:errcheck // ends when the client closes
	}()
	tb.Cleanup(func() {
		client.Close()
		<-done
		g.Runtime().Close(0)
	})
	return &connClient{c: client, br: bufio.NewReader(client),
		req: []byte("GET /items?id=7 HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: bench\r\n\r\n")}
}

// roundTrip sends the request and reads the response.
func (cc *connClient) roundTrip(tb testing.TB) {
	if _, err := cc.c.Write(cc.req); err != nil {
		tb.Fatal(err)
	}
	if err := cc.resp.Read(cc.br); err != nil {
		tb.Fatal(err)
	}
	if cc.resp.StatusCode() != 200 {
		tb.Fatalf("status %d", cc.resp.StatusCode())
	}
}

const nopLogChain = `
[[plugins]]
name = "gateway-test-nop-log"
`

// BenchmarkServeConn serves requests over a connection, fasthttp's write
// included: without a log step (the conn wrapper counts nothing), and
// with one (the response's bytes are followed, the log phase is queued
// once the write ends).
func BenchmarkServeConn(b *testing.B) {
	for _, bc := range []struct{ name, plugins string }{
		{"no log step", ""},
		{"log step", nopLogChain},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cc := serveOverConn(b, bc.plugins)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				cc.roundTrip(b)
			}
		})
	}
}

// TestLogAfterWriteDoesNotAllocate: waiting for the write before the log
// phase allocates nothing per request.
func TestLogAfterWriteDoesNotAllocate(t *testing.T) {
	if raceDetector {
		t.Skip("allocation counts are not meaningful under -race")
	}
	cc := serveOverConn(t, nopLogChain)
	for range 100 {
		cc.roundTrip(t)
	}
	if n := testing.AllocsPerRun(500, func() { cc.roundTrip(t) }); n != 0 {
		t.Errorf("%v allocations per request, want 0", n)
	}
}

// BenchmarkRespScan follows a typical response's bytes.
func BenchmarkRespScan(b *testing.B) {
	var req fasthttp.Request
	var resp fasthttp.Response
	resp.SetBodyString("hello")
	out := []byte("HTTP/1.1 200 OK\r\nServer: moongate\r\nDate: Wed, 01 May 2024 12:00:00 GMT\r\n" +
		"Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")
	b.ReportAllocs()
	for range b.N {
		var s respScan
		s.start(&req, &resp)
		s.feed(out)
	}
}
