package upstream_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/core/upstream"
	"github.com/valyala/fasthttp"
)

// rawUpstream is an upstream written on a raw TCP listener, so that a
// test decides exactly when a connection ends and how. Every connection
// answers its first request normally (keep-alive), which puts it in the
// gateway's pool; what happens next on it is the upstream's mode.
type rawUpstream struct {
	URL  string
	mode rawMode

	mu    sync.Mutex
	seen  map[string]int // "METHOD /path" of every request read in full
	conns int

	// idleClosed is closed when the first connection has been closed
	// (mode closeIdle) and the gateway's side has acknowledged the FIN.
	idleClosed chan struct{}
}

type rawMode int

const (
	// resetSecond: read the second request of a connection in full, then
	// reset the connection (SO_LINGER 0) without answering: the upstream
	// received it and may have acted on it.
	resetSecond rawMode = iota
	// closeIdle: close the first connection after its first answer, while
	// it sits idle in the gateway's pool (an upstream idle timeout).
	// Later connections are served normally.
	closeIdle
)

func startRawUpstream(t *testing.T, mode rawMode) *rawUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &rawUpstream{URL: "http://" + ln.Addr().String(), mode: mode, seen: map[string]int{},
		idleClosed: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.mu.Lock()
			n := u.conns
			u.conns++
			u.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				u.serve(t, c.(*net.TCPConn), n)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return u
}

func (u *rawUpstream) serve(t *testing.T, c *net.TCPConn, n int) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second)) //nolint:errcheck // bounds a stuck test
	br := bufio.NewReader(c)
	var req fasthttp.Request
	for i := 0; ; i++ {
		req.Reset()
		if err := req.Read(br); err != nil {
			return // the gateway closed the connection, or the test ended
		}
		u.mu.Lock()
		u.seen[string(req.Header.Method())+" "+string(req.URI().Path())]++
		u.mu.Unlock()
		if u.mode == resetSecond && i == 1 {
			c.SetLinger(0) //nolint:errcheck // close sends a reset
			return
		}
		if _, err := c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")); err != nil {
			return
		}
		if u.mode == closeIdle && n == 0 {
			// Close like a server whose keep-alive timeout expired, and
			// wait until the gateway's kernel has taken the FIN in: the
			// close is over before the next request is sent.
			c.CloseWrite() //nolint:errcheck // the FIN
			if err := upstream.WaitFINAcked(c); err != nil {
				t.Errorf("upstream close: %v", err)
			}
			c.Close()
			close(u.idleClosed)
			return
		}
	}
}

// count returns how many times the upstream read "METHOD /path" in full.
func (u *rawUpstream) count(key string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.seen[key]
}

func (u *rawUpstream) connections() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.conns
}

func rawGateway(t *testing.T, up *rawUpstream, route string) *gatewaytest.Gateway {
	return gatewaytest.Start(t, `
[server]
listen = "127.0.0.1:0"
buffer_body_size = "4KB"
[[upstreams]]
name = "raw"
targets = [{ url = "`+up.URL+`" }]
[[routes]]
upstream = "raw"
`+route)
}

// TestUpstreamResetAfterReadingRequest: a request sent on a pooled
// keep-alive connection that the upstream reads in full and then resets
// without answering may have been executed. It is sent again (once, on a
// fresh connection) only when its method is idempotent or the route says
// its requests may be repeated (retry_non_idempotent); otherwise the
// client gets 502 and the upstream has seen it exactly once. No retries
// are configured: this is the keep-alive replay, not a retry.
func TestUpstreamResetAfterReadingRequest(t *testing.T) {
	cases := []struct {
		name, method, route string
		headers             []string
		wantStatus, wantN   int
	}{
		{name: "POST is not sent twice", method: "POST", wantStatus: 502, wantN: 1},
		{name: "PATCH is not sent twice", method: "PATCH", wantStatus: 502, wantN: 1},
		{name: "POST with Idempotency-Key is not sent twice", method: "POST",
			headers: []string{"Idempotency-Key", "8e03978e-40d5-43e8-bc93-6894a57f9324"}, wantStatus: 502, wantN: 1},
		{name: "GET is replayed once", method: "GET", wantStatus: 200, wantN: 2},
		{name: "PUT is replayed once", method: "PUT", wantStatus: 200, wantN: 2},
		{name: "POST on a retry_non_idempotent route is replayed once", method: "POST",
			route: "retry_non_idempotent = true\n", wantStatus: 200, wantN: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := startRawUpstream(t, resetSecond)
			g := rawGateway(t, up, tc.route)
			if st, body, _ := gatewaytest.Do(t, "GET", g.URL+"/warm", nil); st != 200 {
				t.Fatalf("first request: %d %s", st, body)
			}
			var body []byte
			if tc.method != "GET" {
				body = []byte(`{"amount":100,"to":"acct-7"}`)
			}
			st, got, resp := gatewaytest.Do(t, tc.method, g.URL+"/pay", body, tc.headers...)
			if st != tc.wantStatus {
				t.Errorf("client got %d %s, want %d", st, got, tc.wantStatus)
			}
			if n := up.count(tc.method + " /pay"); n != tc.wantN {
				t.Errorf("upstream read the %s %d times, want %d", tc.method, n, tc.wantN)
			}
			if tc.wantStatus == 502 {
				var e struct {
					Error  string `json:"error"`
					Status int    `json:"status"`
				}
				if ct := string(resp.Header.ContentType()); ct != "application/json" || json.Unmarshal(got, &e) != nil || e.Status != 502 {
					t.Errorf("want the gateway's JSON error, got %s %q", ct, got)
				}
			}
		})
	}
}

// TestPostAfterUpstreamIdleClose: an upstream that closed an idle pooled
// connection (its keep-alive timeout) before the next POST arrives must
// not cost that POST a 502: the gateway finds the connection closed
// before writing on it and sends the POST, once, on a fresh connection —
// a streamed request body too, since nothing of it was consumed.
func TestPostAfterUpstreamIdleClose(t *testing.T) {
	if !upstream.TCPStateSupported {
		t.Skip("needs TCP_INFO to know when the upstream's close arrived")
	}
	small := []byte(`{"amount":100,"to":"acct-7"}`)
	large := bytes.Repeat([]byte("x"), 64<<10) // over buffer_body_size: streams
	for _, tc := range []struct {
		name string
		body []byte
	}{{"buffered body", small}, {"streamed body", large}} {
		t.Run(tc.name, func(t *testing.T) {
			up := startRawUpstream(t, closeIdle)
			g := rawGateway(t, up, "")
			if st, body, _ := gatewaytest.Do(t, "GET", g.URL+"/warm", nil); st != 200 {
				t.Fatalf("first request: %d %s", st, body)
			}
			select {
			case <-up.idleClosed:
			case <-time.After(10 * time.Second):
				t.Fatal("the upstream did not close its idle connection")
			}
			if st, got, _ := gatewaytest.Do(t, "POST", g.URL+"/pay", tc.body); st != 200 || string(got) != "ok" {
				t.Errorf("POST after the upstream's idle close: %d %s, want 200 ok", st, got)
			}
			if n := up.count("POST /pay"); n != 1 {
				t.Errorf("upstream read the POST %d times, want 1", n)
			}
			if n := up.connections(); n != 2 {
				t.Errorf("upstream saw %d connections, want 2 (the closed one, then a fresh one)", n)
			}
		})
	}
}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// TestPostsKeepTheirPooledTLSConnection: the idle check a POST makes
// before it is written does not mistake an open TLS connection for a
// closed one: sequential POSTs share one pooled connection.
func TestPostsKeepTheirPooledTLSConnection(t *testing.T) {
	tc, caFile := selfSigned(t)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &countingListener{Listener: inner}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("secure") }}
	go srv.Serve(tls.NewListener(ln, tc)) //nolint:errcheck // ends at Shutdown
	t.Cleanup(func() { srv.Shutdown() })  //nolint:errcheck // best effort
	g := gatewaytest.Start(t, `
[[upstreams]]
name = "s"
targets = [{ url = "https://localhost:`+strconv.Itoa(inner.Addr().(*net.TCPAddr).Port)+`" }]
[upstreams.tls]
ca_file = "`+caFile+`"
[[routes]]
upstream = "s"
`)
	for i := range 5 {
		if st, body, _ := gatewaytest.Do(t, "POST", g.URL+"/pay", []byte(`{"amount":100}`)); st != 200 || string(body) != "secure" {
			t.Fatalf("POST %d: %d %s", i, st, body)
		}
	}
	if n := ln.n.Load(); n != 1 {
		t.Fatalf("5 POSTs used %d connections, want 1 pooled connection", n)
	}
}
