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

	"github.com/gorilla/websocket"
	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/core/plugin"
	"github.com/valyala/fasthttp"
)

// writeProbe is a log step that reports what the log phase sees of the
// response's write, with what the test had done (mark) when it ran.
type writeProbe struct{}

type writeSeen struct {
	path        string
	status      int
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
	writesSeen <- writeSeen{path: string(c.Path()), status: c.Response.StatusCode(), sent: c.BodySize(), complete: c.ResponseComplete(),
		requestTime: c.RequestTime(), mark: probeMark.Load()}
}

// captureProbe is writeProbe as a plugin.LogCapturer: it takes the path
// and status before the write, and reports when the write ended.
type captureProbe struct{ writeProbe }

type capturedProbe struct {
	path   string
	status int
}

// captures counts CaptureLog calls: the capture probe's tests check that
// its log was captured (its chain did not fall back to OnLog).
var captures atomic.Int64

func (captureProbe) CaptureLog(c *plugin.Context) plugin.CapturedLog {
	captures.Add(1)
	return &capturedProbe{path: string(c.Path()), status: c.Response.StatusCode()}
}

func (p *capturedProbe) FinishLog(c *plugin.Context) {
	writesSeen <- writeSeen{path: p.path, status: p.status, sent: c.BodySize(), complete: c.ResponseComplete(),
		requestTime: c.RequestTime(), mark: probeMark.Load()}
}

func init() {
	plugin.Register("gateway-test-write-probe", func(plugin.Spec) (any, error) { return writeProbe{}, nil })
	plugin.Register("gateway-test-capture-probe", func(plugin.Spec) (any, error) { return captureProbe{}, nil })
}

// eachProbe runs test with a log step that runs on the log workers
// (OnLog), then with one that captures its log before the write and
// finishes it on the connection's goroutine (plugin.LogCapturer): both
// must see the same end of the write.
func eachProbe(t *testing.T, test func(t *testing.T, probe string)) {
	for _, probe := range []string{"gateway-test-write-probe", "gateway-test-capture-probe"} {
		before := captures.Load()
		t.Run(probe, func(t *testing.T) { test(t, probe) })
		if probe == "gateway-test-capture-probe" && captures.Load() == before {
			t.Error("the capture probe's log phase ran without a capture")
		}
	}
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

func probeGateway(t *testing.T, probe string, up *gatewaytest.Upstream) *gatewaytest.Gateway {
	t.Helper()
	return probeGatewayAt(t, probe, up.URL)
}

func probeGatewayAt(t *testing.T, probe, url string) *gatewaytest.Gateway {
	t.Helper()
	for len(writesSeen) > 0 {
		<-writesSeen
	}
	probeMark.Store(0)
	return gatewaytest.Start(t, `
[[plugins]]
name = "`+probe+`"
[[upstreams]]
name = "u"
targets = [{ url = "`+url+`" }]
[[routes]]
paths = ["/"]
upstream = "u"
websocket = true
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
func TestLogPhaseWaitsForTheWrite(t *testing.T) { eachProbe(t, testLogPhaseWaitsForTheWrite) }

func testLogPhaseWaitsForTheWrite(t *testing.T, probe string) {
	const size = 32 << 20
	body := bytes.Repeat([]byte("x"), size)
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBody(body) })
	g := probeGateway(t, probe, up)

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
func TestLogPhaseAfterTheStreamEnds(t *testing.T) { eachProbe(t, testLogPhaseAfterTheStreamEnds) }

func testLogPhaseAfterTheStreamEnds(t *testing.T, probe string) {
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
	g := probeGateway(t, probe, up)

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

// An HTTP/1.0 client's stream, which the gateway writes itself, ended by
// the connection's end: logged once it is written, with its bytes.
func TestLogPhaseAfterAnHTTP10Stream(t *testing.T) { eachProbe(t, testLogPhaseAfterAnHTTP10Stream) }

func testLogPhaseAfterAnHTTP10Stream(t *testing.T, probe string) {
	last := make(chan struct{})
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/event-stream")
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			w.WriteString("data: 0\n\n")
			w.Flush()
			<-last
			w.WriteString("data: end\n\n")
		})
	})
	g := probeGateway(t, probe, up)

	c, err := net.Dial("tcp", g.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Write([]byte("GET /events HTTP/1.0\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len("data: 0\n\n"))
	if _, err := io.ReadFull(resp.Body, got); err != nil {
		t.Fatal(err)
	}
	probeMark.Store(1)
	close(last)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "data: end\n\n" {
		t.Fatalf("rest %q (%v)", rest, err)
	}
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
func TestLogPhaseClientGoneMidStream(t *testing.T) { eachProbe(t, testLogPhaseClientGoneMidStream) }

func testLogPhaseClientGoneMidStream(t *testing.T, probe string) {
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
	g := probeGateway(t, probe, up)

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
func TestLogPhasePipelined(t *testing.T) { eachProbe(t, testLogPhasePipelined) }

func testLogPhasePipelined(t *testing.T, probe string) {
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/stream":
			ctx.SetContentType("text/event-stream")
			ctx.SetBodyStreamWriter(func(w *bufio.Writer) { w.WriteString("data: 12345\n\n") })
		default:
			ctx.SetBody(bytes.Repeat([]byte("y"), len(ctx.Path())))
		}
	})
	g := probeGateway(t, probe, up)

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

// A WebSocket is logged once its upgrade is answered (101), while the
// connection goes on carrying its frames.
func TestLogPhaseWebSocket(t *testing.T) { eachProbe(t, testLogPhaseWebSocket) }

func testLogPhaseWebSocket(t *testing.T, probe string) {
	up := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			mt, msg, err := c.ReadMessage()
			if err != nil || c.WriteMessage(mt, msg) != nil {
				return
			}
		}
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go up.Serve(ln) //nolint:errcheck // ends at Close
	t.Cleanup(func() { up.Close() })
	g := probeGatewayAt(t, probe, "http://"+ln.Addr().String())

	d := &websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	c, _, err := d.Dial("ws://"+g.Addrs()[0]+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := nextSeen(t)
	if s.status != 101 || !s.complete || s.sent != 0 {
		t.Errorf("status %d, sent %d, complete %v; want 101, 0, true", s.status, s.sent, s.complete)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := c.WriteMessage(websocket.TextMessage, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, got, err := c.ReadMessage(); err != nil || string(got) != "hi" {
		t.Fatalf("got %q, %v", got, err)
	}
}
