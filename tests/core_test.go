package tests

import (
	"bufio"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	gt "github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/valyala/fasthttp"
)

// seen is what the upstream received, as the recorder upstream reports it.
type seen struct {
	Method  string            `json:"method"`
	URI     string            `json:"uri"`
	Host    string            `json:"host"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// recorder is an upstream answering with a JSON description of the request
// it received (raw request URI, every header) and any response headers the
// test asked for with "Reply-<Name>: value" request headers.
func recorder(t testing.TB) *gt.Upstream {
	return gt.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		s := seen{Method: string(ctx.Method()), URI: string(ctx.Request.Header.RequestURI()),
			Host: string(ctx.Request.Header.Host()), Headers: map[string]string{}, Body: string(ctx.PostBody())}
		for k, v := range ctx.Request.Header.All() {
			s.Headers[string(k)] = string(v)
			if name, ok := strings.CutPrefix(string(k), "Reply-"); ok {
				ctx.Response.Header.Add(name, string(v))
			}
		}
		b, _ := json.Marshal(s)
		ctx.Response.Header.SetContentType("application/json")
		ctx.SetBody(b)
	})
}

func decodeSeen(t testing.TB, body []byte) seen {
	t.Helper()
	var s seen
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatalf("upstream body %q: %v", body, err)
	}
	return s
}

// catchAll routes every request to the upstream "u".
const catchAll = "[[routes]]\npaths = [\"/\"]\nupstream = \"u\"\n"

func upstreamTOML(name, url string) string {
	return "\n[[upstreams]]\nname = \"" + name + "\"\ntargets = [{ url = \"" + url + "\" }]\n"
}

// errorBody decodes the gateway's JSON error format.
func errorBody(t testing.TB, body []byte) (msg string, status int) {
	t.Helper()
	var e struct {
		Error  string `json:"error"`
		Status int    `json:"status"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %q is not the JSON error format: %v", body, err)
	}
	return e.Error, e.Status
}

func TestRoutingEndToEnd(t *testing.T) {
	up := recorder(t)
	g := gt.Start(t, upstreamTOML("u", up.URL)+`
[[routes]]
name = "catch-all"
paths = ["/"]
upstream = "u"
[[routes.plugins]]
name = "headers"
[routes.plugins.config.response]
set = { "X-Route" = "catch-all" }

[[routes]]
name = "user"
paths = ["/users/{id}"]
methods = ["GET"]
upstream = "u"
rewrite = "/v2/accounts/{id}"
[[routes.plugins]]
name = "headers"
[routes.plugins.config.response]
set = { "X-Route" = "user" }

[[routes]]
name = "api"
hosts = ["api.example.com"]
paths = ["/api/"]
upstream = "u"
strip_prefix = true
[[routes.plugins]]
name = "headers"
[routes.plugins.config.response]
set = { "X-Route" = "api" }

[[routes]]
name = "only-get"
hosts = ["strict.example.com"]
paths = ["/thing"]
methods = ["GET", "HEAD"]
upstream = "u"
`)
	for _, tc := range []struct {
		name, method, host, path string
		status                   int
		route, upstreamURI       string
	}{
		{"parameter route rewritten", "GET", "", "/users/42?x=1", 200, "user", "/v2/accounts/42?x=1"},
		{"method mismatch falls back", "DELETE", "", "/users/42", 200, "catch-all", "/users/42"},
		{"host route with strip_prefix", "GET", "api.example.com", "/api/orders/9", 200, "api", "/orders/9"},
		{"prefix without slash", "GET", "API.example.com:8080", "/api", 200, "api", "/"},
		{"other host does not match the host route", "GET", "other.example.com", "/api/orders", 200, "catch-all", "/api/orders"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			headers := []string{}
			if tc.host != "" {
				headers = append(headers, "Host", tc.host)
			}
			st, body, resp := gt.Do(t, tc.method, g.URL+tc.path, nil, headers...)
			if st != tc.status || string(resp.Header.Peek("X-Route")) != tc.route {
				t.Fatalf("got %d via %q, want %d via %q (%s)", st, resp.Header.Peek("X-Route"), tc.status, tc.route, body)
			}
			if got := decodeSeen(t, body).URI; got != tc.upstreamURI {
				t.Errorf("upstream got %q, want %q", got, tc.upstreamURI)
			}
		})
	}

	t.Run("404 is a JSON error", func(t *testing.T) {
		g2 := gt.Start(t, upstreamTOML("u", up.URL)+"[[routes]]\npaths = [\"/only/\"]\nupstream = \"u\"\n")
		st, body, resp := gt.Do(t, "GET", g2.URL+"/elsewhere", nil)
		if msg, s := errorBody(t, body); st != 404 || s != 404 || msg == "" {
			t.Errorf("got %d %s", st, body)
		}
		if ct := string(resp.Header.ContentType()); ct != "application/json" {
			t.Errorf("content type %q", ct)
		}
	})
	t.Run("405 lists the allowed methods", func(t *testing.T) {
		st, body, _ := gt.Do(t, "POST", g.URL+"/thing", nil, "Host", "strict.example.com")
		// The catch-all has no host, so it still matches: 405 needs a path no route takes.
		if st != 200 {
			t.Fatalf("got %d %s", st, body)
		}
		g2 := gt.Start(t, upstreamTOML("u", up.URL)+"[[routes]]\npaths = [\"/thing\"]\nmethods = [\"GET\", \"HEAD\"]\nupstream = \"u\"\n")
		st, body, resp := gt.Do(t, "POST", g2.URL+"/thing", nil)
		if _, s := errorBody(t, body); st != 405 || s != 405 {
			t.Fatalf("got %d %s", st, body)
		}
		if allow := string(resp.Header.Peek("Allow")); allow != "GET, HEAD" {
			t.Errorf("Allow = %q, want \"GET, HEAD\"", allow)
		}
	})
}

func TestPreserveHost(t *testing.T) {
	up := recorder(t)
	g := gt.Start(t, upstreamTOML("u", up.URL)+`
[[routes]]
paths = ["/keep/"]
upstream = "u"
preserve_host = true
[[routes]]
paths = ["/"]
upstream = "u"
`)
	_, body, _ := gt.Do(t, "GET", g.URL+"/keep/x", nil, "Host", "shop.example.com")
	if s := decodeSeen(t, body); s.Host != "shop.example.com" {
		t.Errorf("preserve_host: upstream Host = %q", s.Host)
	}
	_, body, _ = gt.Do(t, "GET", g.URL+"/x", nil, "Host", "shop.example.com")
	s := decodeSeen(t, body)
	if s.Host != up.Addr {
		t.Errorf("default: upstream Host = %q, want the target %q", s.Host, up.Addr)
	}
	if s.Headers["X-Forwarded-Host"] != "shop.example.com" {
		t.Errorf("X-Forwarded-Host = %q", s.Headers["X-Forwarded-Host"])
	}
}

func TestChainOrderShortCircuitAndOverrides(t *testing.T) {
	up := recorder(t)
	g := gt.Start(t, upstreamTOML("u", up.URL)+`
[[plugins]]
name = "trace-a"
[plugins.config]
label = "g1"
[[plugins]]
name = "trace-b"
[plugins.config]
label = "g2"
[[plugins]]
name = "headers"
enabled = false
[plugins.config.response]
set = { "X-Global-Headers" = "on" }

[[routes]]
name = "plain"
paths = ["/plain"]
upstream = "u"
[[routes.plugins]]
name = "trace-c"
[routes.plugins.config]
label = "r1"

[[routes]]
name = "replace"
paths = ["/replace"]
upstream = "u"
[[routes.plugins]]
name = "trace-a"
[routes.plugins.config]
label = "R"

[[routes]]
name = "off"
paths = ["/off"]
upstream = "u"
[[routes.plugins]]
name = "trace-b"
enabled = false

[[routes]]
name = "short"
paths = ["/short"]
upstream = "u"
[[routes.plugins]]
name = "trace-b"
[routes.plugins.config]
label = "g2"
answer = true
[[routes.plugins]]
name = "trace-c"
[routes.plugins.config]
label = "r1"

[[routes]]
name = "refuse"
paths = ["/refuse"]
upstream = "u"
[[routes.plugins]]
name = "test-fail"
[routes.plugins.config]
status = 403

[[routes]]
name = "broken"
paths = ["/broken"]
upstream = "u"
[[routes.plugins]]
name = "test-fail"

[[routes]]
name = "tolerant"
paths = ["/tolerant"]
upstream = "u"
[[routes.plugins]]
name = "test-fail"
on_error = "continue"

[[routes]]
name = "panics"
paths = ["/panics"]
upstream = "u"
[[routes.plugins]]
name = "test-fail"
[routes.plugins.config]
panic = true

[[routes]]
name = "reenabled"
paths = ["/reenabled"]
upstream = "u"
[[routes.plugins]]
name = "headers"
[routes.plugins.config.response]
set = { "X-Global-Headers" = "route" }
`)
	for _, tc := range []struct {
		path          string
		status        int
		reqTrace      string // what the upstream saw; "-" if it was not called
		respTrace     string
		globalHeaders string
	}{
		{"/plain", 200, "g1,g2,r1", "r1,g2,g1", ""},
		{"/replace", 200, "R,g2", "g2,R", ""},
		{"/off", 200, "g1", "g1", ""},
		{"/short", 299, "-", "g2,g1", ""},
		{"/refuse", 403, "-", "g2,g1", ""},
		{"/broken", 500, "-", "g2,g1", ""},
		{"/tolerant", 200, "g1,g2", "g2,g1", ""},
		{"/reenabled", 200, "g1,g2", "g2,g1", "route"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			before := up.Hits()
			st, body, resp := gt.Do(t, "GET", g.URL+tc.path, nil)
			if st != tc.status {
				t.Fatalf("status %d, want %d: %s", st, tc.status, body)
			}
			if got := string(resp.Header.Peek("X-Trace-Response")); got != tc.respTrace {
				t.Errorf("response phase order %q, want %q", got, tc.respTrace)
			}
			if got := string(resp.Header.Peek("X-Global-Headers")); got != tc.globalHeaders {
				t.Errorf("X-Global-Headers = %q, want %q", got, tc.globalHeaders)
			}
			if tc.reqTrace == "-" {
				if up.Hits() != before {
					t.Errorf("the upstream was called")
				}
				return
			}
			if got := decodeSeen(t, body).Headers["X-Trace-Request"]; got != tc.reqTrace {
				t.Errorf("request phase order %q, want %q", got, tc.reqTrace)
			}
		})
	}

	t.Run("errors are JSON without internal details", func(t *testing.T) {
		_, body, _ := gt.Do(t, "GET", g.URL+"/broken", nil)
		if msg, st := errorBody(t, body); st != 500 || strings.Contains(string(body), "secret-internal-detail") || msg == "" {
			t.Errorf("body %s", body)
		}
		_, body, _ = gt.Do(t, "GET", g.URL+"/refuse", nil)
		if msg, st := errorBody(t, body); st != 403 || msg != "refused by test-fail" {
			t.Errorf("body %s", body)
		}
	})
	t.Run("a panicking step fails only its request", func(t *testing.T) {
		st, body, _ := gt.Do(t, "GET", g.URL+"/panics", nil)
		if _, s := errorBody(t, body); st != 500 || s != 500 {
			t.Fatalf("got %d %s", st, body)
		}
		if st, _, _ := gt.Do(t, "GET", g.URL+"/plain", nil); st != 200 {
			t.Errorf("next request got %d", st)
		}
	})
}

func TestLogPhaseRunsAfterTheResponse(t *testing.T) {
	up := recorder(t)
	g := gt.Start(t, upstreamTOML("u", up.URL)+`
[[plugins]]
name = "test-log"
[[routes]]
paths = ["/users/{id}"]
upstream = "u"
[[routes]]
paths = ["/gone"]
[[routes.plugins]]
name = "mock"
[routes.plugins.config]
status = 410
body = "gone!"
`)
	logMu.Lock()
	logEntries = nil
	logMu.Unlock()
	gt.Do(t, "GET", g.URL+"/users/7", nil)
	gt.Do(t, "GET", g.URL+"/gone", nil)
	for i := 0; i < 2; i++ {
		select {
		case <-logSignal:
		case <-time.After(5 * time.Second):
			t.Fatal("log phase did not run")
		}
	}
	logMu.Lock()
	defer logMu.Unlock()
	got := map[string]logEntry{}
	for _, e := range logEntries {
		got[e.path] = e
	}
	if e := got["/users/7"]; e.status != 200 || !e.detached || e.bodySize == 0 {
		t.Errorf("proxied request logged as %+v", e)
	}
	if e := got["/gone"]; e.status != 410 || !e.detached || e.bodySize != len("gone!") {
		t.Errorf("answered request logged as %+v", e)
	}
}

func TestHopByHopHeadersAreRemovedBothWays(t *testing.T) {
	up := recorder(t)
	g := gt.Start(t, upstreamTOML("u", up.URL)+catchAll)
	_, body, resp := gt.Do(t, "GET", g.URL+"/x", nil,
		"Connection", "keep-alive, X-Private-Hop",
		"X-Private-Hop", "must not pass",
		"Keep-Alive", "timeout=5",
		"TE", "trailers",
		"Upgrade", "h2c",
		"Proxy-Authorization", "Basic Zm9vOmJhcg==",
		"Proxy-Connection", "keep-alive",
		"X-End-To-End", "kept",
		// Ask the recorder to answer with hop-by-hop headers of its own.
		"Reply-Keep-Alive", "timeout=99",
		"Reply-Proxy-Authenticate", "Basic",
		"Reply-Upgrade", "websocket",
		"Reply-X-Upstream-End-To-End", "kept",
	)
	s := decodeSeen(t, body)
	for _, h := range []string{"Connection", "X-Private-Hop", "Keep-Alive", "Te", "Upgrade", "Proxy-Authorization", "Proxy-Connection"} {
		if v, ok := s.Headers[h]; ok {
			t.Errorf("upstream received %s: %q", h, v)
		}
	}
	if s.Headers["X-End-To-End"] != "kept" {
		t.Errorf("an end-to-end header was dropped: %v", s.Headers)
	}
	for _, h := range []string{"Keep-Alive", "Proxy-Authenticate", "Upgrade"} {
		if v := resp.Header.Peek(h); len(v) > 0 {
			t.Errorf("client received %s: %q", h, v)
		}
	}
	if string(resp.Header.Peek("X-Upstream-End-To-End")) != "kept" {
		t.Errorf("an upstream end-to-end header was dropped")
	}
}

func TestForwardedHeaders(t *testing.T) {
	up := recorder(t)
	routes := upstreamTOML("u", up.URL) + "[[routes]]\npaths = [\"/\"]\nupstream = \"u\"\n"
	spoof := []string{"X-Forwarded-For", "6.6.6.6", "X-Real-IP", "6.6.6.6", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "evil.example", "Host", "shop.example.com"}

	t.Run("untrusted client cannot spoof", func(t *testing.T) {
		g := gt.Start(t, routes)
		_, body, _ := gt.Do(t, "GET", g.URL+"/", nil, spoof...)
		h := decodeSeen(t, body).Headers
		want := map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Real-Ip": "127.0.0.1", "X-Forwarded-Proto": "http", "X-Forwarded-Host": "shop.example.com"}
		for k, v := range want {
			if h[k] != v {
				t.Errorf("%s = %q, want %q", k, h[k], v)
			}
		}
	})
	t.Run("trusted proxy's headers are extended", func(t *testing.T) {
		g := gt.Start(t, "[server]\nlisten = \"127.0.0.1:0\"\ntrusted_proxies = [\"127.0.0.0/8\"]\n"+routes)
		_, body, _ := gt.Do(t, "GET", g.URL+"/", nil, spoof...)
		h := decodeSeen(t, body).Headers
		want := map[string]string{"X-Forwarded-For": "6.6.6.6, 127.0.0.1", "X-Real-Ip": "6.6.6.6", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}
		for k, v := range want {
			if h[k] != v {
				t.Errorf("%s = %q, want %q", k, h[k], v)
			}
		}
	})
}

// rawRequest writes raw bytes to the gateway and returns the status line.
func rawRequest(t testing.TB, addr, raw string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	return strings.TrimSpace(line)
}

func TestMalformedAndOversizedRequests(t *testing.T) {
	up := recorder(t)
	g := gt.Start(t, `[server]
listen = "127.0.0.1:0"
max_header_size = "4KB"
max_body_size = "1KB"
`+upstreamTOML("u", up.URL)+"[[routes]]\npaths = [\"/\"]\nupstream = \"u\"\n")
	addr := strings.TrimPrefix(g.URL, "http://")
	for _, tc := range []struct {
		name, raw, want string
	}{
		{"garbage request line", "NONSENSE\r\n\r\n", "HTTP/1.1 400"},
		{"bad version", "GET / HTTP/9.9x\r\nHost: a\r\n\r\n", "HTTP/1.1 400"},
		{"headers over max_header_size", "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("a", 8000) + "\r\n\r\n", "HTTP/1.1 431"},
		{"body over max_body_size", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n" + strings.Repeat("b", 5000), "HTTP/1.1 413"},
		{"NUL in the decoded path", "GET /a%00b HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 400"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := up.Hits()
			if got := rawRequest(t, addr, tc.raw); !strings.HasPrefix(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if up.Hits() != before {
				t.Errorf("the upstream was called")
			}
		})
	}
	if st, _, _ := gt.Do(t, "POST", g.URL+"/", []byte(strings.Repeat("c", 1000))); st != 200 {
		t.Errorf("a body under the limit got %d", st)
	}
}

func TestPathTraversalCannotSkipAProtectedRoute(t *testing.T) {
	up := recorder(t)
	g := gt.Start(t, upstreamTOML("u", up.URL)+`
[[routes]]
name = "private"
paths = ["/private/"]
upstream = "u"
[[routes.plugins]]
name = "test-fail"
[routes.plugins.config]
status = 403

[[routes]]
name = "public"
paths = ["/"]
upstream = "u"
`)
	for _, p := range []string{
		"/private/x",
		"/public/../private/x",
		"/public/%2e%2e/private/x",
		"/public/%2E%2E/private/x",
		"/%2e%2e/private/x",
		"//private/x",
		"/public/..//private/x",
		"/./private/x",
		"/private%2fx",
		"/%70rivate/x",
		"/public/.%2e/private/x",
	} {
		t.Run(p, func(t *testing.T) {
			before := up.Hits()
			st, body, _ := gt.Do(t, "GET", g.URL+p, nil)
			if st != 403 || up.Hits() != before {
				t.Errorf("got %d (%s), upstream hits %d -> %d: the protected route's chain was skipped", st, body, before, up.Hits())
			}
		})
	}
	t.Run("the upstream sees the normalized path", func(t *testing.T) {
		_, body, _ := gt.Do(t, "GET", g.URL+"/a/./b/../c//d?q=%2e", nil)
		if got := decodeSeen(t, body).URI; got != "/a/c/d?q=%2e" {
			t.Errorf("upstream got %q", got)
		}
		// A decoded "%25" must not be decoded again on the way up.
		_, body, _ = gt.Do(t, "GET", g.URL+"/files/%252e%252e/x", nil)
		if got := decodeSeen(t, body).URI; got != "/files/%252e%252e/x" {
			t.Errorf("upstream got %q", got)
		}
	})
}
