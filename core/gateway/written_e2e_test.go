package gateway_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/core/plugin"
	"github.com/valyala/fasthttp"
)

// writeProbe is a log step that reports what the log phase sees of the
// response's write, with what the test had done (mark) when it ran.
type writeProbe struct{}

type writeSeen struct {
	path        string
	sent        int
	complete    bool
	requestTime time.Duration
	mark        int64 // probeMark when the log phase ran
}

var (
	writesSeen = make(chan writeSeen, 64)
	probeMark  atomic.Int64
)

func (writeProbe) OnLog(c *plugin.Context) {
	writesSeen <- writeSeen{path: string(c.Path()), sent: c.BodySize(), complete: c.ResponseComplete(),
		requestTime: c.RequestTime(), mark: probeMark.Load()}
}

func init() {
	plugin.Register("gateway-test-write-probe", func(plugin.Spec) (any, error) { return writeProbe{}, nil })
}

func nextSeen(t *testing.T) writeSeen {
	t.Helper()
	select {
	case s := <-writesSeen:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("the log phase did not run")
	}
	return writeSeen{}
}

func probeGateway(t *testing.T, up *gatewaytest.Upstream) *gatewaytest.Gateway {
	t.Helper()
	for len(writesSeen) > 0 {
		<-writesSeen
	}
	probeMark.Store(0)
	return gatewaytest.Start(t, `
[[plugins]]
name = "gateway-test-write-probe"
[[upstreams]]
name = "u"
targets = [{ url = "`+up.URL+`" }]
[[routes]]
paths = ["/"]
upstream = "u"
`)
}

// rawGet opens a connection to the gateway and sends a GET of each path
// on it, pipelined.
func rawGet(t *testing.T, g *gatewaytest.Gateway, paths ...string) (*net.TCPConn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", g.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	tc := c.(*net.TCPConn)
	var req []byte
	for _, p := range paths {
		req = append(req, "GET "+p+" HTTP/1.1\r\nHost: gw\r\n\r\n"...)
	}
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return tc, bufio.NewReaderSize(c, 4096)
}

// A client slower than the response: the log phase runs once the last
// byte is taken, not when the handler returns, and the request time
// covers the write. The body (32 MB) is far larger than what loopback
// sockets buffer for a client that does not read (a few MB), so the
// gateway's write cannot end before the client reads.
func TestLogPhaseWaitsForTheWrite(t *testing.T) {
	const size = 32 << 20
	body := bytes.Repeat([]byte("x"), size)
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBody(body) })
	g := probeGateway(t, up)

	c, br := rawGet(t, g, "/large")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	const stall = 300 * time.Millisecond
	time.Sleep(stall) // the client takes its time (not a synchronisation)
	probeMark.Store(1)
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || n != size {
		t.Fatalf("read %d bytes (%v), want %d", n, err, size)
	}
	c.Close()
	s := nextSeen(t)
	if s.mark != 1 {
		t.Error("the log phase ran before the client read the body")
	}
	if s.sent != size || !s.complete {
		t.Errorf("sent %d, complete %v; want %d, true", s.sent, s.complete, size)
	}
	if s.requestTime < stall {
		t.Errorf("request time %v, want at least the client's stall %v", s.requestTime, stall)
	}
}

// A streamed response is logged after its last byte, with the bytes sent.
func TestLogPhaseAfterTheStreamEnds(t *testing.T) {
	last := make(chan struct{})
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/event-stream")
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			for i := range 3 {
				w.WriteString("data: " + strconv.Itoa(i) + "\n\n")
				w.Flush()
			}
			<-last
			w.WriteString("data: end\n\n")
			w.Flush()
		})
	})
	g := probeGateway(t, up)

	c, br := rawGet(t, g, "/events")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 3*len("data: 0\n\n"))
	if _, err := io.ReadFull(resp.Body, got); err != nil {
		t.Fatal(err)
	}
	probeMark.Store(1)
	close(last)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "data: end\n\n" {
		t.Fatalf("rest %q (%v)", rest, err)
	}
	c.Close()
	s := nextSeen(t)
	if s.mark != 1 {
		t.Error("the log phase ran before the stream ended")
	}
	if want := len(got) + len(rest); s.sent != want || !s.complete {
		t.Errorf("sent %d, complete %v; want %d, true", s.sent, s.complete, want)
	}
}

// A client that goes away mid-stream: the log phase runs, with the bytes
// the connection took before the client left (at least what the client
// read, never the whole stream), and the response marked incomplete.
func TestLogPhaseClientGoneMidStream(t *testing.T) {
	const chunk, chunks = 1024, 4096
	gone := make(chan struct{})
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/event-stream")
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			line := append(bytes.Repeat([]byte("x"), chunk-1), '\n')
			w.Write(line)
			w.Flush()
			<-gone
			for range chunks - 1 {
				if _, err := w.Write(line); err != nil {
					return
				}
				if w.Flush() != nil {
					return
				}
			}
		})
	})
	g := probeGateway(t, up)

	c, br := rawGet(t, g, "/events")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	first := make([]byte, chunk)
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatal(err)
	}
	c.SetLinger(0)
	c.Close()
	close(gone)
	s := nextSeen(t)
	if s.complete {
		t.Error("a response the client left is logged complete")
	}
	if s.sent < chunk || s.sent >= chunk*chunks {
		t.Errorf("sent %d, want from %d (read by the client) to less than the whole %d", s.sent, chunk, chunk*chunks)
	}
}

// Pipelined requests: each one is logged with its own body's size, the
// responses to the first ones still in the gateway's buffer when the
// next is served.
func TestLogPhasePipelined(t *testing.T) {
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/stream":
			ctx.SetContentType("text/event-stream")
			ctx.SetBodyStreamWriter(func(w *bufio.Writer) { w.WriteString("data: 12345\n\n") })
		default:
			ctx.SetBody(bytes.Repeat([]byte("y"), len(ctx.Path())))
		}
	})
	g := probeGateway(t, up)

	paths := []string{"/a", "/stream", "/bbb", "/stream", "/cc"}
	c, br := rawGet(t, g, paths...)
	for range paths {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
	}
	c.Close()
	for range paths {
		s := nextSeen(t)
		want := len(s.path)
		if s.path == "/stream" {
			want = len("data: 12345\n\n")
		}
		if s.sent != want || !s.complete {
			t.Errorf("%s: sent %d, complete %v; want %d, true", s.path, s.sent, s.complete, want)
		}
	}
}
