package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/gateway"
	gt "github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/valyala/fasthttp"
)

// Protocol strictness: requests whose framing or request target could be
// read two ways are refused before anything reaches the upstream. Every
// test below writes the attacker's exact bytes on a raw TCP connection.

// The gateways of these tests wait a whole minute for a slow request, so
// an answer that only comes at read_timeout fails the exchange's deadline.
const slowClientServer = `[server]
listen = "127.0.0.1:0"
read_timeout = "60s"
`

// reply is what the gateway answered on a raw connection.
type reply struct {
	status int    // 0 when no answer came
	body   string // the response body
	closed bool   // the gateway closed the connection after answering
	err    error  // why no answer could be read
}

// exchange writes raw to addr (in a goroutine, so that a gateway that
// stops reading does not block the test), reads one response and reports
// whether the connection was closed after it. No answer within 10 seconds
// is a failure: the gateways under test wait 60 seconds for slow clients.
func exchange(t testing.TB, addr, raw string) reply {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	written := make(chan struct{})
	go func() {
		defer close(written)
		conn.Write([]byte(raw)) //nolint:errcheck // the gateway may close before reading everything
	}()
	defer func() { <-written }()
	return readReply(conn, bufio.NewReader(conn))
}

func readReply(conn net.Conn, br *bufio.Reader) reply {
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return reply{err: err}
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r := reply{status: resp.StatusCode, body: string(body)}
	if resp.StatusCode >= 400 {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = br.ReadByte()
		var ne net.Error
		r.closed = err != nil && !(errors.As(err, &ne) && ne.Timeout())
	}
	return r
}

// wire is an upstream that answers like recorder (a JSON description of
// the request) and counts every byte that reaches it, so a test can tell
// that nothing at all was sent, not only that no request was served. It
// reads heads of up to 1MB, so that it never refuses what the gateway
// forwards.
type wire struct {
	URL   string
	bytes atomic.Int64
	hits  atomic.Int64
}

func startWire(t *testing.T) *wire {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &wire{URL: "http://" + ln.Addr().String()}
	srv := &fasthttp.Server{ReadBufferSize: 1 << 20, NoDefaultContentType: true,
		Handler: func(ctx *fasthttp.RequestCtx) {
			w.hits.Add(1)
			s := seen{Method: string(ctx.Method()), URI: string(ctx.Request.Header.RequestURI()),
				Host: string(ctx.Request.Header.Host()), Headers: map[string]string{}, Body: string(ctx.PostBody())}
			for k, v := range ctx.Request.Header.All() {
				s.Headers[string(k)] = string(v)
			}
			b, _ := json.Marshal(s)
			ctx.Response.Header.SetContentType("application/json")
			ctx.SetBody(b)
		}}
	go srv.Serve(countingListener{ln, &w.bytes}) //nolint:errcheck // ends at Shutdown
	t.Cleanup(func() { srv.Shutdown() })
	return w
}

// sent returns the bytes the upstream has received so far.
func (w *wire) sent() int64 { return w.bytes.Load() }

type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.n}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// refused checks that the gateway answered status and closed the
// connection, and that not one byte reached the upstream.
func refused(t *testing.T, r reply, status int, up *wire, before int64) {
	t.Helper()
	if r.status != status {
		t.Errorf("got %d %q (err %v), want %d", r.status, r.body, r.err, status)
	}
	if r.status == status && !r.closed {
		t.Errorf("the connection was kept open after %d", status)
	}
	if n := up.sent() - before; n != 0 {
		t.Errorf("%d bytes reached the upstream", n)
	}
}

// RFC 9112 §6.3: a request whose Transfer-Encoding does not end in chunked
// cannot be framed reliably; the server must answer 400 and close.
func TestTransferEncodingOtherThanChunkedIsRefused(t *testing.T) {
	up := startWire(t)
	g := gt.Start(t, slowClientServer+upstreamTOML("u", up.URL)+catchAll)
	addr := strings.TrimPrefix(g.URL, "http://")
	for _, tc := range []struct{ name, raw string }{
		{"identity with Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\nContent-Length: 5\r\n\r\nhello"},
		{"Content-Length before identity", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: identity\r\n\r\nhello"},
		{"identity alone", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n"},
		{"identity on a GET", "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: IDENTITY\r\n\r\n"},
		{"identity hiding a second request", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\nContent-Length: 0\r\n\r\n" +
			"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"gzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello"},
		{"chunked not last", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
		{"two lines", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := up.sent()
			refused(t, exchange(t, addr, tc.raw), 400, up, before)
		})
	}
	t.Run("chunked is served", func(t *testing.T) {
		r := exchange(t, addr, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
		if r.status != 200 || decodeSeen(t, []byte(r.body)).Body != "hello" {
			t.Errorf("got %d %q", r.status, r.body)
		}
	})
}

// A head whose lines end in a bare LF is answered 400 at once, instead of
// waiting (until read_timeout) for a CRLF CRLF that never comes, and is
// never read one way by the gateway and another by a peer.
func TestBareLFHeadIsRefusedAtOnce(t *testing.T) {
	up := startWire(t)
	g := gt.Start(t, slowClientServer+upstreamTOML("u", up.URL)+catchAll)
	addr := strings.TrimPrefix(g.URL, "http://")
	for _, tc := range []struct{ name, raw string }{
		{"every line", "GET / HTTP/1.1\nHost: a\n\n"},
		{"the end of the head", "GET / HTTP/1.1\r\nHost: a\n\n"},
		{"CRLF then LF", "GET / HTTP/1.1\r\nHost: a\r\n\n"},
		{"LF then CRLF", "GET / HTTP/1.1\r\nHost: a\n\r\n"},
		{"the request line only", "GET / HTTP/1.1\nHost: a\r\n\r\n"},
		{"one header line", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\nX-B: 2\r\n\r\n"},
		{"a bare-LF head before a CRLF one", "GET / HTTP/1.1\r\nHost: a\n\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := up.sent()
			refused(t, exchange(t, addr, tc.raw), 400, up, before)
		})
	}
	t.Run("bodies with bare LFs, pipelined, are served", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		bodies := []string{"line1\n\nline2", "x\n\ny", "GET /z HTTP/1.1\nHost: a\n\n"}
		var raw string
		for _, b := range bodies {
			raw += "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + strconv.Itoa(len(b)) + "\r\n\r\n" + b
		}
		conn.Write([]byte(raw))
		br := bufio.NewReader(conn)
		for _, want := range bodies {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || decodeSeen(t, body).Body != want {
				t.Errorf("got %d %q, want the body %q served", resp.StatusCode, body, want)
			}
		}
	})
	t.Run("after a request on a kept-alive connection", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(conn)
		conn.Write([]byte("GET /first HTTP/1.1\r\nHost: a\r\n\r\n"))
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("first request: %v %v", resp, err)
		}
		io.ReadAll(resp.Body)
		before := up.sent()
		conn.Write([]byte("GET /second HTTP/1.1\nHost: a\n\n"))
		refused(t, readReply(conn, br), 400, up, before)
	})
}

// chunked builds a chunked body of n chunks of data, each size line
// carrying ext as its extension.
func chunked(n int, data, ext string) string {
	var b strings.Builder
	for range n {
		b.WriteString(strconv.FormatInt(int64(len(data)), 16) + ext + "\r\n" + data + "\r\n")
	}
	b.WriteString("0\r\n\r\n")
	return b.String()
}

// Chunk extensions are bounded per chunk-size line, and every byte of a
// chunked body as sent (data, size lines, extensions, CRLFs) counts
// against max_body_size, whether the body is read whole (up to
// buffer_body_size) or streamed to the upstream.
func TestChunkExtensionsAreBoundedAndCounted(t *testing.T) {
	up := startWire(t)
	g := gt.Start(t, slowClientServer+`max_body_size = "64KB"
buffer_body_size = "16KB"
`+upstreamTOML("u", up.URL)+catchAll)
	addr := strings.TrimPrefix(g.URL, "http://")
	head := "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	ext := func(n int) string { return ";x=" + strings.Repeat("e", n) }
	for _, tc := range []struct {
		name   string
		body   string
		status int
	}{
		{"a 64 KiB extension", chunked(1, "hello", ext(64<<10)), 400},
		{"a 4 MiB extension", chunked(1, "hello", ext(4<<20)), 400},
		{"extensions past max_body_size, small body", chunked(40, "0123456789", ext(3000)), 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := up.sent()
			refused(t, exchange(t, addr, head+tc.body), tc.status, up, before)
		})
	}
	// Past buffer_body_size the body streams to the upstream as it arrives:
	// the upstream sees the start of a request whose connection is then
	// closed, and never serves it.
	streamed := strings.TrimSuffix(chunked(20, strings.Repeat("d", 1000), ""), "0\r\n\r\n")
	for _, tc := range []struct {
		name   string
		body   string
		status int
	}{
		{"extensions past max_body_size, streamed body", chunked(40, strings.Repeat("d", 1000), ext(1500)), 413},
		{"a 40 KiB extension once the body streams", streamed + chunked(1, "hello", ext(40<<10)), 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hits := up.hits.Load()
			r := exchange(t, addr, head+tc.body)
			if r.status != tc.status || !r.closed {
				t.Errorf("got %d %q (err %v, closed %v), want %d and close", r.status, r.body, r.err, r.closed, tc.status)
			}
			if n := up.hits.Load() - hits; n != 0 {
				t.Errorf("the upstream served %d request(s)", n)
			}
		})
	}
	for _, tc := range []struct {
		name, body, want string
	}{
		{"short extensions", chunked(3, "hello", ";name=value;q=\"quoted\""), strings.Repeat("hello", 3)},
		{"one-byte chunks", chunked(3000, "x", ""), strings.Repeat("x", 3000)},
		{"4 KB chunk-size lines", chunked(10, strings.Repeat("c", 100), ext(4096-len("64;x="))), strings.Repeat("c", 1000)},
		{"a streamed body under the limit", chunked(40, strings.Repeat("s", 1000), ext(20)), strings.Repeat("s", 40000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := exchange(t, addr, head+tc.body)
			if r.status != 200 {
				t.Fatalf("got %d %q (err %v)", r.status, r.body, r.err)
			}
			if got := decodeSeen(t, []byte(r.body)).Body; got != tc.want {
				t.Errorf("the upstream got a body of %d bytes, want %d", len(got), len(tc.want))
			}
		})
	}
}

// The path policy (control characters, and ';' and '\' with strict_paths)
// is checked on the request target as received, so a ".." cannot remove
// the offending segment before it is seen; a raw '#' is refused.
func TestRequestTargetIsCheckedBeforeDotSegments(t *testing.T) {
	up := startWire(t)
	g := gt.Start(t, upstreamTOML("u", up.URL)+catchAll)
	addr := strings.TrimPrefix(g.URL, "http://")
	for _, target := range []string{
		"/public/%00/../admin/x",
		"/public/%0a/../admin/x",
		"/public/%0D%0A/../admin/x",
		"/public/%7f/../admin/x",
		"/public/%3b/../admin/x",
		"/public/;x/../admin/x",
		"/public/%5C/../admin/x",
		"/a#fragment",
		"/a?q=1#fragment",
		"/a#",
	} {
		t.Run(target, func(t *testing.T) {
			before := up.sent()
			r := exchange(t, addr, "GET "+target+" HTTP/1.1\r\nHost: a\r\n\r\n")
			if r.status != 400 || up.sent() != before {
				t.Errorf("got %d %q, %d bytes reached the upstream", r.status, r.body, up.sent()-before)
			}
		})
	}
	for target, want := range map[string]string{
		"/a%23b":          "/a%23b",
		"/a/./b/../c?q=x": "/a/c?q=x",
	} {
		t.Run(target, func(t *testing.T) {
			r := exchange(t, addr, "GET "+target+" HTTP/1.1\r\nHost: a\r\n\r\n")
			if r.status != 200 {
				t.Fatalf("got %d %q", r.status, r.body)
			}
			if got := decodeSeen(t, []byte(r.body)).URI; got != want {
				t.Errorf("upstream got %q, want %q", got, want)
			}
		})
	}
}

// headerLines returns n header lines "X-<i>: v" (or "X:" lines with no
// value when empty is set).
func headerLines(n int, empty bool) string {
	var b strings.Builder
	for i := range n {
		if empty {
			b.WriteString("X:\r\n")
			continue
		}
		b.WriteString("X-" + strconv.Itoa(i) + ": v\r\n")
	}
	return b.String()
}

// Every header line counts against server.max_header_count (default 100):
// repeated names and empty values too. Past it: 431, and nothing goes
// upstream.
func TestHeaderFieldCountIsLimited(t *testing.T) {
	up := startWire(t)
	g := gt.Start(t, slowClientServer+upstreamTOML("u", up.URL)+catchAll)
	addr := strings.TrimPrefix(g.URL, "http://")
	for _, tc := range []struct {
		name   string
		lines  string
		status int
	}{
		{"100 fields", headerLines(99, false), 200},
		{"101 fields", headerLines(100, false), 431},
		{"1900 empty fields", headerLines(1900, true), 431},
		{"150 lines of one name", strings.Repeat("X-Same: 1\r\n", 150), 431},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := up.sent()
			r := exchange(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n"+tc.lines+"\r\n")
			if tc.status != 200 {
				refused(t, r, tc.status, up, before)
				return
			}
			if r.status != 200 || up.hits.Load() == 0 {
				t.Errorf("got %d %q", r.status, r.body)
			}
		})
	}

	small := gt.Start(t, slowClientServer+"max_header_count = 3\n"+upstreamTOML("u", up.URL)+catchAll)
	addr = strings.TrimPrefix(small.URL, "http://")
	if r := exchange(t, addr, "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n"); r.status != 200 {
		t.Errorf("3 fields with max_header_count = 3: got %d %q", r.status, r.body)
	}
	before := up.sent()
	refused(t, exchange(t, addr, "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), 431, up, before)
}

// A Content-Length over max_body_size is answered 413 from the headers,
// before any of the body is read: with Expect: 100-continue the client
// never gets 100 Continue, without it the gateway does not wait for the
// body; the connection is closed either way.
func TestOversizedContentLengthIsRefusedFromTheHeaders(t *testing.T) {
	up := startWire(t)
	g := gt.Start(t, slowClientServer+`max_body_size = "1KB"
`+upstreamTOML("u", up.URL)+catchAll)
	addr := strings.TrimPrefix(g.URL, "http://")
	big := "Content-Length: 100000\r\n"
	for _, tc := range []struct{ name, raw string }{
		{"Expect: 100-continue", "POST / HTTP/1.1\r\nHost: a\r\n" + big + "Expect: 100-continue\r\n\r\n"},
		{"no Expect, no body yet", "POST / HTTP/1.1\r\nHost: a\r\n" + big + "\r\n"},
		{"no Expect, the body started", "POST / HTTP/1.1\r\nHost: a\r\n" + big + "\r\n" + strings.Repeat("b", 512)},
		{"multipart", "POST / HTTP/1.1\r\nHost: a\r\n" + big + "Content-Type: multipart/form-data; boundary=xx\r\n\r\n--xx\r\n"},
		{"HTTP/1.0 multipart", "POST / HTTP/1.0\r\nHost: a\r\n" + big + "Content-Type: multipart/form-data; boundary=xx\r\n\r\n--xx\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := up.sent()
			r := exchange(t, addr, tc.raw)
			refused(t, r, 413, up, before)
			if r.status == 413 {
				if msg, _ := errorBody(t, []byte(r.body)); msg != "request body too large" {
					t.Errorf("error %q", msg)
				}
			}
		})
	}
	t.Run("a multipart body within the limit goes upstream as sent", func(t *testing.T) {
		body := "--xx\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\nhello\r\n--xx--\r\n"
		r := exchange(t, addr, "POST / HTTP/1.1\r\nHost: a\r\nContent-Type: multipart/form-data; boundary=xx\r\n"+
			"Content-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
		if r.status != 200 {
			t.Fatalf("got %d %q", r.status, r.body)
		}
		if got := decodeSeen(t, []byte(r.body)).Body; got != body {
			t.Errorf("the upstream got %q, want %q", got, body)
		}
	})
	t.Run("a body within the limit after 100 Continue", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(conn)
		conn.Write([]byte("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"))
		line, _ := br.ReadString('\n')
		if !strings.HasPrefix(line, "HTTP/1.1 100") {
			t.Fatalf("got %q, want 100 Continue", line)
		}
		br.ReadString('\n')
		conn.Write([]byte("hello"))
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("got %v %v", resp, err)
		}
	})
}

// lockedBuffer collects log output and signals every write.
type lockedBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{}
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case l.wrote <- struct{}{}:
	default:
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startLogged starts a gateway whose process log, at debug level, goes to
// the returned buffer.
func startLogged(t *testing.T, toml string) (*gateway.Gateway, *lockedBuffer) {
	t.Helper()
	buf := &lockedBuffer{wrote: make(chan struct{}, 1)}
	file := filepath.Join(t.TempDir(), "moongate.toml")
	if err := os.WriteFile(file, []byte(gt.WithTestListeners(toml)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(cfg, slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		g.Shutdown(ctx)
	})
	return g, buf
}

// Malformed requests are logged (at debug level) with what went wrong and
// the client's address, never with the bytes of the request: credentials
// in its headers stay out of the log.
func TestMalformedRequestsDoNotLogCredentials(t *testing.T) {
	up := startWire(t)
	g, logs := startLogged(t, upstreamTOML("u", up.URL)+catchAll)
	addr := g.Addrs()[0]
	const (
		apiKey = "secret-api-key-3f9a"
		bearer = "secret-bearer-77c1"
		cookie = "secret-cookie-b40e"
	)
	creds := "X-API-Key: " + apiKey + "\r\nAuthorization: Bearer " + bearer + "\r\nCookie: session=" + cookie + "\r\n"
	for _, raw := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n" + creds + "Not a header line\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n" + creds + "X-Bad: a\x01b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n" + creds + "Host: b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n" + creds + "Content-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX-API-Key: " + apiKey + "\x7f\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " + bearer + "\x00\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nCookie: session=" + cookie + "\x01\r\n\r\n",
		"G\x01T / HTTP/1.1\r\nHost: a\r\n" + creds + "\r\n",
		"GET /" + apiKey + " HTTP/9.9x\r\nHost: a\r\n" + creds + "\r\n",
	} {
		if r := exchange(t, addr, raw); r.status != 400 {
			t.Errorf("%q: got %d %q (err %v), want 400", raw, r.status, r.body, r.err)
		}
	}
	// fasthttp logs a connection's error once it has ended: wait until the
	// nine are in the log.
	deadline := time.After(10 * time.Second)
	for strings.Count(logs.String(), "fasthttp") < 9 {
		select {
		case <-logs.wrote:
		case <-deadline:
			t.Fatalf("%d of 9 malformed requests logged:\n%s", strings.Count(logs.String(), "fasthttp"), logs)
		}
	}
	out := logs.String()
	for _, s := range []string{apiKey, bearer, cookie, "secret-"} {
		if strings.Contains(out, s) {
			t.Errorf("the log holds %q:\n%s", s, out)
		}
	}
	if !strings.Contains(out, "127.0.0.1:") {
		t.Errorf("the log does not name the client:\n%s", out)
	}
}
