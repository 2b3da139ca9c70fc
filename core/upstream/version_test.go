package upstream_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/core/plugin"
	"github.com/valyala/fasthttp"
)

// headRecorder is an upstream on a raw socket that records the head of
// every request it reads (request line and header lines, as received)
// and answers each with the same bytes.
type headRecorder struct {
	URL    string
	host   string
	answer string
	mu     sync.Mutex
	heads  []string
}

func startHeadRecorder(t *testing.T, answer string) *headRecorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &headRecorder{URL: "http://" + ln.Addr().String(), host: ln.Addr().String(), answer: answer}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(20 * time.Second)) //nolint:errcheck // bounds a stuck test
				br := bufio.NewReader(c)
				for {
					var head strings.Builder
					for {
						line, err := br.ReadString('\n')
						if err != nil {
							return
						}
						if line == "\r\n" {
							break
						}
						head.WriteString(line)
					}
					r.mu.Lock()
					r.heads = append(r.heads, head.String())
					r.mu.Unlock()
					if _, err := c.Write([]byte(r.answer)); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return r
}

// last returns the request line and the headers (name → values) of the
// last request the upstream read.
func (r *headRecorder) last(t *testing.T) (string, map[string][]string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.heads) == 0 {
		t.Fatal("the upstream read no request")
	}
	lines := strings.Split(strings.TrimSuffix(r.heads[len(r.heads)-1], "\r\n"), "\r\n")
	h := map[string][]string{}
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, ":")
		h[strings.ToLower(k)] = append(h[strings.ToLower(k)], strings.TrimSpace(v))
	}
	return lines[0], h
}

// rawExchange writes raw to the gateway and reads until the gateway
// closes the connection, which every case here expects it to do.
func rawExchange(t *testing.T, g *gatewaytest.Gateway, raw string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(g.URL, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck // bounds a stuck test
	if _, err := conn.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("reading the answer until the gateway closes: %v (got %q)", err, got)
	}
	return string(got)
}

func splitResponse(t *testing.T, resp string) (statusLine string, h map[string][]string, body string) {
	t.Helper()
	head, body, ok := strings.Cut(resp, "\r\n\r\n")
	if !ok {
		t.Fatalf("no end of headers in %q", resp)
	}
	lines := strings.Split(head, "\r\n")
	h = map[string][]string{}
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, ":")
		h[strings.ToLower(k)] = append(h[strings.ToLower(k)], strings.TrimSpace(v))
	}
	return lines[0], h, body
}

func versionGateway(t *testing.T, up *headRecorder) *gatewaytest.Gateway {
	return gatewaytest.Start(t, `
[[upstreams]]
name = "u"
targets = [{ url = "`+up.URL+`" }]
stream_threshold = "1KB"
[[routes]]
name = "plain"
paths = ["/"]
upstream = "u"
[[routes]]
name = "preserve"
paths = ["/preserve"]
upstream = "u"
preserve_host = true
`)
}

// TestHTTP10ClientGoesUpstreamAsHTTP11: a request from an HTTP/1.0 client
// reaches the upstream as HTTP/1.1 (RFC 9110 §2.5: the gateway sends its
// own version), with a Host; without a client Host there is no
// X-Forwarded-Host at all (not an empty one), and a preserve_host route
// sends the target's Host. The client gets a response it can read: a
// Content-Length, "Connection: close", and the connection closed.
func TestHTTP10ClientGoesUpstreamAsHTTP11(t *testing.T) {
	up := startHeadRecorder(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	g := versionGateway(t, up)
	for _, tc := range []struct {
		name, raw, wantHost, wantXFH string
	}{
		{"with Host", "GET /x HTTP/1.0\r\nHost: shop.example\r\n\r\n", up.host, "shop.example"},
		{"without Host", "GET /x HTTP/1.0\r\n\r\n", up.host, ""},
		{"without Host, client X-Forwarded-Host", "GET /x HTTP/1.0\r\nX-Forwarded-Host: evil.example\r\n\r\n", up.host, ""},
		{"preserve_host with Host", "GET /preserve HTTP/1.0\r\nHost: shop.example\r\n\r\n", "shop.example", "shop.example"},
		{"preserve_host without Host", "GET /preserve HTTP/1.0\r\n\r\n", up.host, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := rawExchange(t, g, tc.raw)
			status, h, body := splitResponse(t, resp)
			if !strings.HasPrefix(status, "HTTP/1.1 200") || body != "ok" {
				t.Fatalf("client got %q", resp)
			}
			if cl := h["content-length"]; len(cl) != 1 || cl[0] != "2" || h["transfer-encoding"] != nil {
				t.Errorf("client got framing Content-Length %q, Transfer-Encoding %q; want Content-Length 2", cl, h["transfer-encoding"])
			}
			if c := h["connection"]; len(c) != 1 || c[0] != "close" {
				t.Errorf("client got Connection %q, want close", c)
			}
			line, uh := up.last(t)
			if !strings.HasSuffix(line, " HTTP/1.1") {
				t.Errorf("upstream got request line %q, want HTTP/1.1", line)
			}
			if got := uh["host"]; len(got) != 1 || got[0] != tc.wantHost {
				t.Errorf("upstream got Host %q, want %q", got, tc.wantHost)
			}
			xfh, present := uh["x-forwarded-host"]
			switch {
			case tc.wantXFH == "" && present:
				t.Errorf("upstream got X-Forwarded-Host %q, want none", xfh)
			case tc.wantXFH != "" && (len(xfh) != 1 || xfh[0] != tc.wantXFH):
				t.Errorf("upstream got X-Forwarded-Host %q, want %q", xfh, tc.wantXFH)
			}
			if c := uh["connection"]; c != nil {
				t.Errorf("upstream got Connection %q, want none (HTTP/1.1 keep-alive)", c)
			}
		})
	}
}

// TestHTTP10KeepAliveClient: an HTTP/1.0 client that asks for keep-alive
// gets "Connection: keep-alive" and a Content-Length on each answer, and
// its second request is answered on the same connection.
func TestHTTP10KeepAliveClient(t *testing.T) {
	up := startHeadRecorder(t, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")
	g := versionGateway(t, up)
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(g.URL, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck // bounds a stuck test
	br := bufio.NewReader(conn)
	for i := range 2 {
		if _, err := conn.Write([]byte("GET /x HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n")); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		var resp fasthttp.Response
		if err := resp.Read(br); err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		if resp.StatusCode() != 200 || string(resp.Body()) != "ok" || resp.Header.ContentLength() != 2 ||
			!bytes.Equal(resp.Header.Peek("Connection"), []byte("keep-alive")) {
			t.Fatalf("response %d: %d, Content-Length %d, Connection %q, body %q", i, resp.StatusCode(),
				resp.Header.ContentLength(), resp.Header.Peek("Connection"), resp.Body())
		}
		if line, _ := up.last(t); !strings.HasSuffix(line, " HTTP/1.1") {
			t.Errorf("upstream got request line %q, want HTTP/1.1", line)
		}
	}
}

// TestHTTP10ClientStreamedBody: a body the gateway streams without a
// length (chunked upstream, past stream_threshold; an event stream) reaches
// an HTTP/1.0 client, which cannot read chunked framing, as nginx sends it:
// no Transfer-Encoding, no Content-Length, the bytes as they are, and the
// connection closed at the end, even when the client asked for keep-alive.
func TestHTTP10ClientStreamedBody(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 256) // 4 KB, over stream_threshold
	for _, tc := range []struct {
		name, answer, body, ctype string
	}{
		{"chunked download", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" + big[:2048] + "\r\n800\r\n" + big[2048:] + "\r\n0\r\n\r\n", big, ""},
		{"event stream", "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n9\r\ndata: 1\n\n\r\n9\r\ndata: 2\n\n\r\n0\r\n\r\n", "data: 1\n\ndata: 2\n\n", "text/event-stream"},
	} {
		for _, keepAlive := range []bool{false, true} {
			name := tc.name
			raw := "GET /x HTTP/1.0\r\nHost: a\r\n\r\n"
			if keepAlive {
				name += ", keep-alive asked"
				raw = "GET /x HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n"
			}
			t.Run(name, func(t *testing.T) {
				up := startHeadRecorder(t, tc.answer)
				g := versionGateway(t, up)
				resp := rawExchange(t, g, raw)
				status, h, body := splitResponse(t, resp)
				if !strings.HasPrefix(status, "HTTP/1.1 200") {
					t.Fatalf("client got %q", resp)
				}
				if h["transfer-encoding"] != nil || h["content-length"] != nil {
					t.Errorf("client got Transfer-Encoding %q, Content-Length %q; want neither (close-delimited)",
						h["transfer-encoding"], h["content-length"])
				}
				if c := h["connection"]; len(c) != 1 || c[0] != "close" {
					t.Errorf("client got Connection %q, want close", c)
				}
				if tc.ctype != "" && (len(h["content-type"]) != 1 || h["content-type"][0] != tc.ctype) {
					t.Errorf("client got Content-Type %q, want %q", h["content-type"], tc.ctype)
				}
				if body != tc.body {
					t.Errorf("client got body %q..., want the upstream's bytes unframed (%d bytes, got %d)", body[:min(len(body), 40)], len(tc.body), len(body))
				}
			})
		}
	}
}

// TestHTTP10UpstreamAnswerGoesOutAsHTTP11: the client's status line
// carries the gateway's version even when the target answered HTTP/1.0.
func TestHTTP10UpstreamAnswerGoesOutAsHTTP11(t *testing.T) {
	up := startHeadRecorder(t, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok")
	g := versionGateway(t, up)
	status, h, body := splitResponse(t, rawExchange(t, g, "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"))
	if status != "HTTP/1.1 200 OK" || body != "ok" {
		t.Fatalf("client got status line %q, body %q; want HTTP/1.1 200 OK", status, body)
	}
	if h["keep-alive"] != nil {
		t.Errorf("client got the upstream's Keep-Alive %q", h["keep-alive"])
	}
}

// TestHTTP10ClientEventStreamIsLive: an event stream reaches an HTTP/1.0
// client event by event: the first event arrives while the upstream
// holds the second back.
func TestHTTP10ClientEventStreamIsLive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	next := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second)) //nolint:errcheck // bounds a stuck test
		var req fasthttp.Request
		if req.Read(bufio.NewReader(c)) != nil {
			return
		}
		c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n9\r\ndata: 1\n\n\r\n")) //nolint:errcheck // the client's reads tell
		select {
		case <-next:
		case <-time.After(10 * time.Second):
			return
		}
		c.Write([]byte("9\r\ndata: 2\n\n\r\n0\r\n\r\n")) //nolint:errcheck // the client's reads tell
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	g := versionGateway(t, &headRecorder{URL: "http://" + ln.Addr().String()})
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(g.URL, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck // bounds a stuck test
	if _, err := conn.Write([]byte("GET /events HTTP/1.0\r\nHost: a\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	var seen strings.Builder
	for !strings.Contains(seen.String(), "data: 1\n\n") {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("the first event did not arrive before the second was sent: %v (got %q)", err, seen.String())
		}
		seen.WriteString(line)
	}
	close(next)
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatalf("reading to the end: %v", err)
	}
	if _, _, body := splitResponse(t, seen.String()+string(rest)); body != "data: 1\n\ndata: 2\n\n" {
		t.Fatalf("client got body %q", body)
	}
}

// replaceBody is a test step that replaces a streamed response body with
// a buffered one in the response phase.
type replaceBody struct{}

func (replaceBody) OnResponse(c *plugin.Context) error {
	if c.Response.IsBodyStream() {
		c.Response.SetBodyString("replaced")
	}
	return nil
}

func init() {
	plugin.Register("test-replace-body", func(plugin.Spec) (any, error) { return replaceBody{}, nil })
}

// TestHTTP10ClientStreamedBodyAfterResponsePhase: what the response phase
// does to a streamed response reaches an HTTP/1.0 client: a changed status
// and header on the close-delimited stream, or a body replaced by a
// buffered one, sent with its Content-Length (the connection then ends
// even if the client asked for keep-alive: the decision to write the
// response on the connection was taken before the response phase).
func TestHTTP10ClientStreamedBodyAfterResponsePhase(t *testing.T) {
	big := strings.Repeat("z", 4096)
	up := startHeadRecorder(t, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n"+big+"\r\n0\r\n\r\n")
	g := gatewaytest.Start(t, `
[[upstreams]]
name = "u"
targets = [{ url = "`+up.URL+`" }]
stream_threshold = "1KB"
[[routes]]
name = "probe"
paths = ["/probe"]
upstream = "u"
  [[routes.plugins]]
  name = "test-body-probe"
[[routes]]
name = "replace"
paths = ["/replace"]
upstream = "u"
  [[routes.plugins]]
  name = "test-replace-body"
`)
	status, h, body := splitResponse(t, rawExchange(t, g, "GET /probe HTTP/1.0\r\nHost: a\r\n\r\n"))
	if !strings.HasPrefix(status, "HTTP/1.1 203") || body != big || h["transfer-encoding"] != nil || h["content-length"] != nil {
		t.Errorf("probe: got %q, Transfer-Encoding %q, Content-Length %q, %d bytes; want 203 and the body unframed",
			status, h["transfer-encoding"], h["content-length"], len(body))
	}
	if v := h["x-streamed"]; len(v) != 1 || v[0] != "true" {
		t.Errorf("probe: X-Streamed %q, want the response phase's header", v)
	}
	status, h, body = splitResponse(t, rawExchange(t, g, "GET /replace HTTP/1.0\r\nHost: a\r\n\r\n"))
	if !strings.HasPrefix(status, "HTTP/1.1 200") || body != "replaced" || len(h["content-length"]) != 1 || h["content-length"][0] != "8" {
		t.Errorf("replace: got %q, Content-Length %q, body %q; want 200 replaced with Content-Length 8", status, h["content-length"], body)
	}
}
