package upstream_test

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/core/plugin"
	"github.com/valyala/fasthttp"
)

func TestSSEArrivesEventByEvent(t *testing.T) {
	var sent atomic.Int64
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/event-stream")
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			for i := 1; i <= 10; i++ {
				sent.Store(int64(i))
				if _, err := w.WriteString("data: event " + strconv.Itoa(i) + "\n\n"); err != nil {
					return
				}
				if err := w.Flush(); err != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	})
	g := gatewaytest.Start(t, `
[[upstreams]]
name = "llm"
targets = [{ url = "`+up.URL+`" }]
[[routes]]
upstream = "llm"
  [[routes.plugins]]
  name = "test-body-probe"
`)
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte("GET /stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp := &fasthttp.ResponseHeader{}
	if err := resp.Read(br); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode() != 203 || !bytes.HasPrefix(resp.ContentType(), []byte("text/event-stream")) ||
		string(resp.Peek("X-Streamed")) != "true" {
		t.Fatalf("got %d %q X-Streamed %q: want the response phase to see and change the streamed response",
			resp.StatusCode(), resp.ContentType(), resp.Peek("X-Streamed"))
	}
	cr := newChunkReader(br)
	for want := 1; want <= 2; want++ {
		line, err := cr.readLine()
		if err != nil {
			t.Fatal(err)
		}
		if line != "data: event "+strconv.Itoa(want) {
			t.Fatalf("got %q, want event %d", line, want)
		}
		upstreamAt := sent.Load()
		t.Logf("client got event %d while the upstream had sent %d", want, upstreamAt)
		if upstreamAt > int64(want)+1 {
			t.Fatalf("event %d reached the client only after the upstream sent event %d: buffered", want, upstreamAt)
		}
	}
}

// chunkReader reads the lines of a chunked body as chunks arrive.
type chunkReader struct {
	br  *bufio.Reader
	buf []byte
}

func newChunkReader(br *bufio.Reader) *chunkReader { return &chunkReader{br: br} }

func (c *chunkReader) readLine() (string, error) {
	for {
		if i := bytes.IndexByte(c.buf, '\n'); i >= 0 {
			line := string(c.buf[:i])
			c.buf = c.buf[i+1:]
			if line == "" {
				continue
			}
			return line, nil
		}
		sizeLine, err := c.br.ReadString('\n')
		if err != nil {
			return "", err
		}
		n, err := strconv.ParseInt(strings.TrimSpace(sizeLine), 16, 64)
		if err != nil {
			return "", err
		}
		chunk := make([]byte, n+2)
		if _, err := io.ReadFull(c.br, chunk); err != nil {
			return "", err
		}
		c.buf = append(c.buf, chunk[:n]...)
	}
}

// zeros is an endless reader of a fixed byte, allocating nothing.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'z'
	}
	return len(p), nil
}

func TestLargeDownloadIsNotBuffered(t *testing.T) {
	const size = 100 << 20
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/octet-stream")
		ctx.SetBodyStream(io.LimitReader(zeros{}, size), size)
	})
	g := gatewaytest.Start(t, `
[[upstreams]]
name = "files"
targets = [{ url = "`+up.URL+`" }]
[[routes]]
upstream = "files"
`)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
		}
	}()
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Get(g.URL + "/big")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	close(done)
	if err != nil || n != size {
		t.Fatalf("got %d bytes (%v), want %d", n, err, size)
	}
	if resp.ContentLength != size {
		t.Fatalf("got Content-Length %d, want %d", resp.ContentLength, size)
	}
	growth := int64(peak.Load()) - int64(base)
	t.Logf("100 MB download: heap in use grew by at most %.1f MB", float64(growth)/(1<<20))
	if growth > 50<<20 {
		t.Fatalf("heap grew by %d MB during a 100 MB download: buffered", growth>>20)
	}
}

// bodyProbe is a test step reporting the length of the request body it
// sees, and whether it is a stream.
type bodyProbe struct{}

func (bodyProbe) OnRequest(c *plugin.Context) error {
	if c.Request.IsBodyStream() {
		c.Request.Header.Set("X-Probe", "stream")
	} else {
		c.Request.Header.Set("X-Probe", strconv.Itoa(len(c.Request.Body())))
	}
	return nil
}

// OnResponse tells whether the response is streamed, and changes the
// status of streamed ones: the response phase runs for them too.
func (bodyProbe) OnResponse(c *plugin.Context) error {
	c.Response.Header.Set("X-Streamed", strconv.FormatBool(c.Response.IsBodyStream()))
	if c.Response.IsBodyStream() && c.Response.StatusCode() == 200 {
		c.Response.SetStatusCode(203)
	}
	return nil
}

func init() {
	plugin.Register("test-body-probe", func(plugin.Spec) (any, error) { return bodyProbe{}, nil })
}

func TestRequestBodies(t *testing.T) {
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		h := sha256.New()
		n, _ := io.Copy(h, bytes.NewReader(ctx.Request.Body()))
		ctx.Response.Header.Set("X-Probe", string(ctx.Request.Header.Peek("X-Probe")))
		ctx.SetBodyString(strconv.FormatInt(n, 10) + " " + string(h.Sum(nil)[:4]))
	})
	g := gatewaytest.Start(t, `
[server]
listen = "127.0.0.1:0"
max_body_size = "3584KB"
buffer_body_size = "64KB"
[[plugins]]
name = "test-body-probe"
[[upstreams]]
name = "up"
targets = [{ url = "`+up.URL+`" }]
[[routes]]
upstream = "up"
`)
	check := func(name string, body []byte, chunked bool, wantProbe string) {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", g.URL+"/upload", bytes.NewReader(body))
			if chunked {
				req, _ = http.NewRequest("POST", g.URL+"/upload", io.MultiReader(bytes.NewReader(body)))
				req.ContentLength = -1
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			sum := sha256.Sum256(body)
			want := strconv.Itoa(len(body)) + " " + string(sum[:4])
			if resp.StatusCode != 200 || string(got) != want {
				t.Fatalf("got %d %q, want the whole body upstream", resp.StatusCode, got)
			}
			if p := resp.Header.Get("X-Probe"); p != wantProbe {
				t.Fatalf("a step saw the body as %q, want %q", p, wantProbe)
			}
		})
	}
	small := bytes.Repeat([]byte("s"), 10<<10)
	large := bytes.Repeat([]byte("L"), 3<<20)
	check("small", small, false, strconv.Itoa(len(small)))
	check("small chunked", small, true, strconv.Itoa(len(small)))
	check("large streams", large, false, "stream")
	check("large chunked streams", large, true, "stream")

	t.Run("over max_body_size", func(t *testing.T) {
		// Over max_body_size, under the test upstream's own 4MB limit.
		huge := bytes.Repeat([]byte("H"), 3840<<10)
		for _, chunked := range []bool{false, true} {
			req, _ := http.NewRequest("POST", g.URL+"/upload", bytes.NewReader(huge))
			if chunked {
				req, _ = http.NewRequest("POST", g.URL+"/upload", io.MultiReader(bytes.NewReader(huge)))
				req.ContentLength = -1
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				// The gateway may close the connection while the client
				// is still sending; that is a refusal too.
				t.Logf("chunked=%v: %v", chunked, err)
				continue
			}
			resp.Body.Close()
			if resp.StatusCode != 413 {
				t.Fatalf("chunked=%v: got %d, want 413", chunked, resp.StatusCode)
			}
		}
	})
}

func TestWebSocketEcho(t *testing.T) {
	up := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			mt, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(mt, append([]byte("echo: "), msg...)); err != nil {
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
	g := gatewaytest.Start(t, `
[[upstreams]]
name = "ws"
targets = [{ url = "http://`+ln.Addr().String()+`" }]
[[routes]]
name = "ws"
paths = ["/ws"]
upstream = "ws"
websocket = true
[[routes]]
name = "plain"
paths = ["/plain"]
upstream = "ws"
`)
	wsURL := "ws://" + strings.TrimPrefix(g.URL, "http://")
	d := &websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	c, resp, err := d.Dial(wsURL+"/ws", nil)
	if err != nil {
		t.Fatalf("dial through the gateway: %v (%v)", err, resp)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i := range 5 {
		msg := "hello " + strconv.Itoa(i)
		if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_, got, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "echo: "+msg {
			t.Fatalf("got %q", got)
		}
	}
	big := bytes.Repeat([]byte("b"), 200<<10)
	if err := c.WriteMessage(websocket.BinaryMessage, big); err != nil {
		t.Fatal(err)
	}
	if _, got, err := c.ReadMessage(); err != nil || len(got) != len(big)+6 {
		t.Fatalf("big message: got %d bytes, %v", len(got), err)
	}
	// On a route without websocket = true the upgrade is not forwarded.
	_, resp, err = d.Dial(wsURL+"/plain", nil)
	if err == nil {
		t.Fatal("upgrade went through on a route without websocket = true")
	}
	if resp == nil || resp.StatusCode == 101 {
		t.Fatalf("got %v, want a refusal", resp)
	}
}

// selfSigned writes a certificate for localhost and 127.0.0.1 and returns
// the TLS config serving it and the PEM file of the certificate.
func selfSigned(t *testing.T) (*tls.Config, string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, file
}

func TestHTTPSUpstream(t *testing.T) {
	tc, caFile := selfSigned(t)
	var sni atomic.Value
	tc.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		sni.Store(h.ServerName)
		return nil, nil
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", tc)
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("secure") }}
	go srv.Serve(ln) //nolint:errcheck // ends at Shutdown
	t.Cleanup(func() { srv.Shutdown() })
	port := ln.Addr().(*net.TCPAddr).Port
	conf := func(tlsTable string) string {
		return `
[[upstreams]]
name = "s"
targets = [{ url = "https://localhost:` + strconv.Itoa(port) + `" }]
` + tlsTable + `
[[routes]]
upstream = "s"
`
	}
	cases := []struct {
		name, tls string
		want      int
	}{
		{"verified by default: unknown CA refused", "", 502},
		{"custom CA file", "[upstreams.tls]\nca_file = \"" + caFile + "\"", 200},
		{"wrong server name refused", "[upstreams.tls]\nca_file = \"" + caFile + "\"\nserver_name = \"other.example\"", 502},
		{"verification off explicitly", "[upstreams.tls]\ninsecure_skip_verify = true", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := gatewaytest.Start(t, conf(tc.tls))
			st, body, _ := gatewaytest.Do(t, "GET", g.URL+"/x", nil)
			if st != tc.want {
				t.Fatalf("got %d %s, want %d", st, body, tc.want)
			}
			if st == 200 && string(body) != "secure" {
				t.Fatalf("got body %q", body)
			}
		})
	}
	if s, _ := sni.Load().(string); s != "localhost" {
		t.Fatalf("got SNI %q, want localhost", s)
	}
}

func TestRetriesOnlyIdempotentUnlessRouteOptsIn(t *testing.T) {
	var failing atomic.Int64
	bad := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		failing.Add(1)
		ctx.SetStatusCode(503)
	})
	good := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	g := gatewaytest.Start(t, `
[[upstreams]]
name = "pool"
targets = [{ url = "`+bad.URL+`" }, { url = "`+good.URL+`" }]
[upstreams.retries]
attempts = 1
[upstreams.outlier]
consecutive_failures = 0
[[routes]]
name = "default"
paths = ["/"]
upstream = "pool"
[[routes]]
name = "optin"
paths = ["/optin"]
upstream = "pool"
retry_non_idempotent = true
[[routes]]
name = "noretry"
paths = ["/noretry"]
upstream = "pool"
retries = 0
`)
	count := func(method, path string) map[int]int {
		out := map[int]int{}
		for range 10 {
			st, _, _ := gatewaytest.Do(t, method, g.URL+path, []byte("x"))
			out[st]++
		}
		return out
	}
	if got := count("GET", "/x"); got[200] != 10 {
		t.Fatalf("GET with retries: got %v, want all 200", got)
	}
	if got := count("POST", "/x"); got[503] != 5 || got[200] != 5 {
		t.Fatalf("POST without opt-in: got %v, want the 503s passed on", got)
	}
	if got := count("POST", "/optin"); got[200] != 10 {
		t.Fatalf("POST with retry_non_idempotent: got %v, want all 200", got)
	}
	if got := count("GET", "/noretry"); got[503] != 5 {
		t.Fatalf("GET on a route with retries = 0: got %v, want the 503s passed on", got)
	}
}

func TestHostnameTarget(t *testing.T) {
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("named") })
	_, port, _ := net.SplitHostPort(up.Addr)
	g := gatewaytest.Start(t, `
[[upstreams]]
name = "named"
targets = [{ url = "http://localhost:`+port+`" }]
resolve_interval = "1s"
[[routes]]
upstream = "named"
`)
	for range 5 {
		if st, body, _ := gatewaytest.Do(t, "GET", g.URL+"/x", nil); st != 200 || string(body) != "named" {
			t.Fatalf("got %d %s", st, body)
		}
	}
	st := targetState(t, g, "http://localhost:"+port)
	if len(st.Addresses) == 0 || st.ResolvedAt == nil {
		t.Fatalf("no resolved addresses in /upstreams: %+v", st)
	}
}

// TestChunkedBodies: a chunked body that ends within stream_threshold is
// buffered (steps see it whole); a longer one streams; a live stream
// (ndjson, or X-Accel-Buffering: no) is never held back, event by event.
func TestChunkedBodies(t *testing.T) {
	sent := make(chan int, 16)
	next := make(chan struct{})
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/small":
			ctx.SetBodyStreamWriter(func(w *bufio.Writer) { w.WriteString("small chunked body") })
		case "/large":
			ctx.SetBodyStreamWriter(func(w *bufio.Writer) { w.Write(bytes.Repeat([]byte("L"), 8<<10)) })
		case "/ndjson", "/marked":
			if string(ctx.Path()) == "/ndjson" {
				ctx.SetContentType("application/x-ndjson")
			} else {
				ctx.Response.Header.Set("X-Accel-Buffering", "no")
			}
			ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
				for i := 1; i <= 3; i++ {
					fmt.Fprintf(w, "{\"n\":%d}\n", i)
					w.Flush()
					sent <- i
					select {
					case <-next:
					case <-time.After(10 * time.Second):
						return
					}
				}
			})
		}
	})
	g := gatewaytest.Start(t, `
[[upstreams]]
name = "u"
targets = [{ url = "`+up.URL+`" }]
stream_threshold = "4KB"
[[routes]]
paths = ["/"]
upstream = "u"
  [[routes.plugins]]
  name = "test-body-probe"
`)
	// The probe step marks streamed responses (X-Streamed) and turns
	// their 200 into 203.
	if st, body, resp := gatewaytest.Do(t, "GET", g.URL+"/small", nil); st != 200 || string(body) != "small chunked body" ||
		string(resp.Header.Peek("X-Streamed")) != "false" {
		t.Errorf("small chunked: %d %q streamed=%q", st, body, resp.Header.Peek("X-Streamed"))
	}
	if st, body, resp := gatewaytest.Do(t, "GET", g.URL+"/large", nil); st != 203 || len(body) != 8<<10 ||
		string(resp.Header.Peek("X-Streamed")) != "true" {
		t.Errorf("large chunked: %d len %d streamed=%q", st, len(body), resp.Header.Peek("X-Streamed"))
	}
	for _, path := range []string{"/ndjson", "/marked"} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(g.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
		br := bufio.NewReader(conn)
		var resp fasthttp.Response
		if err := resp.Header.Read(br); err != nil {
			t.Fatal(err)
		}
		cr := httputil.NewChunkedReader(br)
		lines := bufio.NewReader(cr)
		for i := 1; i <= 3; i++ {
			<-sent
			line, err := lines.ReadString('\n')
			if err != nil || line != fmt.Sprintf("{\"n\":%d}\n", i) {
				t.Fatalf("%s: line %d = %q, %v: the stream was held back", path, i, line, err)
			}
			next <- struct{}{} // the upstream sends the next line only after this one arrived
		}
		conn.Close()
	}
}
