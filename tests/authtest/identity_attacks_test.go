package authtest

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	_ "github.com/moongate/moongate/plugins/headers"
	_ "github.com/moongate/moongate/plugins/requestid"
	"github.com/valyala/fasthttp"
)

// rawDo writes a request as exact bytes (header names and repeated lines
// as an attacker writes them) and reads the gateway's answer.
func rawDo(t *testing.T, g *gatewaytest.Gateway, lines ...string) *fasthttp.Response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(g.URL, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte(strings.Join(lines, "\r\n") + "\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	resp := &fasthttp.Response{}
	if err := resp.Read(bufio.NewReader(conn)); err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	return resp
}

// only asserts that the upstream saw exactly one line of header name,
// with value want.
func only(t *testing.T, s seen, name, want string) {
	t.Helper()
	if got := s.header(name); len(got) != 1 || got[0] != want {
		t.Errorf("upstream %s = %q, want [%q]", name, got, want)
	}
}

// identityConfig is a key-auth route behind request-id and a step that
// sets headers of its own (as a tracing step sets traceparent), and a
// route without authentication.
func identityConfig(u *recorder, server string) string {
	return server + upstreamTOML(u) + twoConsumers + `
[[plugins]]
name = "request-id"
[[plugins]]
name = "headers"
[plugins.config.request]
set = { "Traceparent" = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "X-Step" = "set by a step" }

[[routes]]
name = "admin"
paths = ["/admin/"]
upstream = "app"
  [[routes.plugins]]
  name = "key-auth"

[[routes]]
name = "open"
paths = ["/"]
upstream = "app"
`
}

// Attack: "Connection: X-Consumer-Name, X-Consumer-Groups, X-Request-Id"
// on an authenticated request used to delete the identity and request ID
// the gateway had set, because hop-by-hop headers were removed after the
// chain. The client's hop-by-hop headers now go before the chain runs.
func TestConnectionHeaderCannotDeleteGatewayHeaders(t *testing.T) {
	u := startRecorder(t)
	g := gatewaytest.Start(t, identityConfig(u, ""))
	for _, tc := range []struct {
		name       string
		connection []string
	}{
		{"the reported request", []string{"Connection: X-Consumer-Name, X-Consumer-Groups, X-Request-Id"}},
		{"every header the gateway or a step adds, over two lines", []string{
			"Connection: keep-alive, X-Consumer-Name, X-Consumer-Groups, X-Credential-Identifier, X-Request-Id, X-Private",
			"X-Private: hop-by-hop, for the gateway only",
			"connection: X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host, X-Real-IP, Traceparent, X-Step, Host"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines := append([]string{"GET /admin/x HTTP/1.1", "Host: api.test", "X-API-Key: " + aliceKey}, tc.connection...)
			resp := rawDo(t, g, lines...)
			if resp.StatusCode() != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode(), resp.Body())
			}
			s := u.last(t)
			only(t, s, "X-Consumer-Name", "alice")
			only(t, s, "X-Consumer-Groups", "admins,ops")
			only(t, s, "X-Credential-Identifier", "alice:key-auth:0")
			only(t, s, "X-Request-Id", string(resp.Header.Peek("X-Request-Id")))
			only(t, s, "X-Forwarded-For", "127.0.0.1")
			only(t, s, "X-Forwarded-Proto", "http")
			only(t, s, "X-Forwarded-Host", "api.test")
			only(t, s, "X-Real-IP", "127.0.0.1")
			only(t, s, "Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
			only(t, s, "X-Step", "set by a step")
			for _, h := range []string{"Connection", "X-Private"} {
				if v := s.header(h); len(v) > 0 {
					t.Errorf("upstream received the client's hop-by-hop %s: %q", h, v)
				}
			}
			if len(resp.Header.Peek("X-Request-Id")) == 0 {
				t.Error("no X-Request-Id in the response")
			}
		})
	}
}

// Attack (Apache's CVE-2022-31813): behind a trusted proxy, a client
// lists X-Forwarded-For in Connection so that the proxy's line is dropped
// and the upstream takes the proxy for the client. Connection tokens that
// name forwarding headers are ignored.
func TestConnectionHeaderCannotDeleteTrustedProxyForwardedFor(t *testing.T) {
	u := startRecorder(t)
	g := gatewaytest.Start(t, identityConfig(u, "[server]\nlisten = \"127.0.0.1:0\"\ntrusted_proxies = [\"127.0.0.1/32\"]\n"))
	resp := rawDo(t, g, "GET /open HTTP/1.1", "Host: api.test",
		"Connection: X-Forwarded-For, X-Real-IP, X-Forwarded-Proto, X-Forwarded-Host",
		"X-Forwarded-For: 203.0.113.9", "X-Forwarded-Proto: https", "X-Forwarded-Host: shop.example")
	if resp.StatusCode() != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode(), resp.Body())
	}
	s := u.last(t)
	only(t, s, "X-Real-IP", "203.0.113.9")
	only(t, s, "X-Forwarded-For", "203.0.113.9, 127.0.0.1")
	only(t, s, "X-Forwarded-Proto", "https")
	only(t, s, "X-Forwarded-Host", "shop.example")
}

// forwardedConfig is ip-restriction in front of the recorder: /internal/
// allows 10.0.0.0/8 only, /blocked/ denies 203.0.113.0/24 only.
func forwardedConfig(u *recorder, trusted string) string {
	return "[server]\nlisten = \"127.0.0.1:0\"\ntrusted_proxies = [" + trusted + "]\n" + upstreamTOML(u) + `
[[routes]]
paths = ["/internal/"]
upstream = "app"
  [[routes.plugins]]
  name = "ip-restriction"
  [routes.plugins.config]
  allow = ["10.0.0.0/8"]

[[routes]]
paths = ["/blocked/"]
upstream = "app"
  [[routes.plugins]]
  name = "ip-restriction"
  [routes.plugins.config]
  deny = ["203.0.113.0/24"]

[[routes]]
paths = ["/"]
upstream = "app"
`
}

// Attack: from a trusted proxy that appends a line of its own (HAProxy's
// option forwardfor), "-H 'X-Forwarded-For: 10.0.0.1' -H
// 'X-Forwarded-For: 203.0.113.9'" made the client 10.0.0.1, because only
// the first line was read. All lines are now one list, read from the
// right. The test client, on 127.0.0.1, is the trusted proxy.
func TestRepeatedForwardedForLinesFromTrustedProxy(t *testing.T) {
	u := startRecorder(t)
	g := gatewaytest.Start(t, forwardedConfig(u, `"127.0.0.1/32"`))
	forged := []string{"X-Forwarded-For", "10.0.0.1", "X-Forwarded-For", "203.0.113.9"}
	for _, path := range []string{"/internal/x", "/blocked/x"} {
		if status, body, _ := gatewaytest.Do(t, "GET", g.URL+path, nil, forged...); status != 403 {
			t.Errorf("%s: status %d, want 403: %s", path, status, body)
		}
	}
	// Deleting a header (the client's hop-by-hop or identity headers)
	// moves fasthttp's last line into its place: the lines must be read
	// in received order all the same.
	for _, deleted := range []string{"Connection: keep-alive", "X-Consumer-Name: root"} {
		resp := rawDo(t, g, "GET /internal/x HTTP/1.1", "Host: api.test", deleted,
			"X-Forwarded-For: 10.0.0.1", "X-Forwarded-For: 203.0.113.9")
		if resp.StatusCode() != 403 {
			t.Errorf("with %q before the lines: status %d, want 403: %s", deleted, resp.StatusCode(), resp.Body())
		}
	}
	if u.Hits() != 0 {
		t.Fatalf("the upstream was reached %d times", u.Hits())
	}
	// The same lines the other way round: the proxy says 10.1.2.3.
	allowed := []string{"X-Forwarded-For", "203.0.113.9", "X-Forwarded-For", "10.1.2.3"}
	if status, body, _ := gatewaytest.Do(t, "GET", g.URL+"/internal/x", nil, allowed...); status != 200 {
		t.Errorf("allowed client: status %d: %s", status, body)
	}
	gatewaytest.Do(t, "GET", g.URL+"/other", nil, forged...)
	s := u.last(t)
	only(t, s, "X-Real-IP", "203.0.113.9")
	only(t, s, "X-Forwarded-For", "10.0.0.1, 203.0.113.9, 127.0.0.1")
}

// Repeated X-Forwarded-For, -Proto, -Host and X-Real-IP lines: from a
// client that is not a trusted proxy every line is replaced (Set alone
// replaced only the first, and the forged second line went upstream);
// from a trusted proxy, -Proto and -Host keep the last value, what the
// nearest proxy wrote, and X-Real-IP is always the gateway's.
func TestRepeatedForwardingHeaderLines(t *testing.T) {
	forged := []string{
		"X-Forwarded-For", "10.0.0.1", "X-Forwarded-For", "10.0.0.2",
		"X-Real-IP", "10.0.0.1", "X-Real-IP", "10.0.0.2",
		"X-Forwarded-Proto", "http", "X-Forwarded-Proto", "https",
		"X-Forwarded-Host", "evil.example", "X-Forwarded-Host", "shop.example",
		"Host", "api.test",
	}
	t.Run("untrusted client", func(t *testing.T) {
		u := startRecorder(t)
		g := gatewaytest.Start(t, forwardedConfig(u, ""))
		if status, body, _ := gatewaytest.Do(t, "GET", g.URL+"/internal/x", nil, forged...); status != 403 {
			t.Fatalf("/internal/: status %d, want 403: %s", status, body)
		}
		gatewaytest.Do(t, "GET", g.URL+"/other", nil, forged...)
		s := u.last(t)
		only(t, s, "X-Forwarded-For", "127.0.0.1")
		only(t, s, "X-Real-IP", "127.0.0.1")
		only(t, s, "X-Forwarded-Proto", "http")
		only(t, s, "X-Forwarded-Host", "api.test")
	})
	t.Run("trusted proxy", func(t *testing.T) {
		u := startRecorder(t)
		g := gatewaytest.Start(t, forwardedConfig(u, `"127.0.0.1/32"`))
		if status, body, _ := gatewaytest.Do(t, "GET", g.URL+"/internal/x", nil, forged...); status != 200 {
			t.Fatalf("/internal/: status %d, want 200: %s", status, body)
		}
		s := u.last(t)
		only(t, s, "X-Forwarded-For", "10.0.0.1, 10.0.0.2, 127.0.0.1")
		only(t, s, "X-Real-IP", "10.0.0.2")
		only(t, s, "X-Forwarded-Proto", "https")
		only(t, s, "X-Forwarded-Host", "shop.example")
	})
}

// Attack: "X.Consumer.Groups: admins" reached the upstream on every route;
// PHP and CGI-style upstreams read it as X-Consumer-Groups. Every spelling
// whose name, with each byte that is not a letter or digit taken as a
// separator, is an identity header's is removed, on routes with and
// without authentication; the identity the auth step sets still goes.
func TestIdentityHeaderSpellingsRemoved(t *testing.T) {
	u := startRecorder(t)
	g := gatewaytest.Start(t, identityConfig(u, ""))
	spellings := []string{
		"X.Consumer.Groups: admins", "X_Consumer_Groups: admins", "x.consumer-groups: admins",
		"X.Consumer.Name: root", "X~Consumer~Name: root", "X-Consumer_Name: root", "X*Consumer*Name: root",
		"X.Credential.Identifier: root:key-auth:0", "X.Anonymous.Consumer: false",
	}
	identity := map[string]bool{"x-consumer-name": true, "x-consumer-groups": true,
		"x-credential-identifier": true, "x-anonymous-consumer": true}
	fold := func(name string) string {
		b := []byte(strings.ToLower(name))
		for i, c := range b {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
				b[i] = '-'
			}
		}
		return string(b)
	}
	for _, tc := range []struct {
		name, path string
		auth       []string
		want       map[string]string // canonical name → value; nothing else may fold to an identity name
	}{
		{"route with key-auth", "/admin/x", []string{"X-API-Key: " + bobKey},
			map[string]string{"X-Consumer-Name": "bob", "X-Consumer-Groups": "users", "X-Credential-Identifier": "bob:key-auth:0"}},
		{"route without authentication", "/open", nil, map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines := append([]string{"GET " + tc.path + " HTTP/1.1", "Host: api.test"}, tc.auth...)
			resp := rawDo(t, g, append(lines, spellings...)...)
			if resp.StatusCode() != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode(), resp.Body())
			}
			s := u.last(t)
			for k, v := range s.Headers {
				if !identity[fold(k)] {
					continue
				}
				if want, ok := tc.want[k]; !ok || len(v) != 1 || v[0] != want {
					t.Errorf("upstream received %s: %q", k, v)
				}
			}
			for k, want := range tc.want {
				only(t, s, k, want)
			}
		})
	}
}

// bobKey is the key whose SHA-256 is bobKeyHash.
const bobKey = "bob-key"
