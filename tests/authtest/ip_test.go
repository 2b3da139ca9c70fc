package authtest

import (
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
)

func ipConfig(u *recorder, trusted string) string {
	return "[server]\nlisten = \"127.0.0.1:0\"\ntrusted_proxies = [" + trusted + "]\n" + upstreamTOML(u) + `
[[routes]]
name = "internal"
paths = ["/internal/"]
upstream = "app"
  [[routes.plugins]]
  name = "ip-restriction"
  [routes.plugins.config]
  allow = ["10.0.0.0/8"]

[[routes]]
name = "blocked"
paths = ["/blocked/"]
upstream = "app"
  [[routes.plugins]]
  name = "ip-restriction"
  [routes.plugins.config]
  deny = ["127.0.0.0/8", "203.0.113.0/24"]

[[routes]]
name = "other"
paths = ["/"]
upstream = "app"
`
}

// An untrusted client cannot choose its address with forwarding headers.
func TestSpoofedForwardingHeaders(t *testing.T) {
	u := startRecorder(t)
	g := gatewaytest.Start(t, ipConfig(u, ""))
	spoofs := [][]string{
		nil,
		{"X-Forwarded-For", "10.1.2.3"},
		{"X-Forwarded-For", "10.1.2.3, 10.4.5.6"},
		{"X-Real-IP", "10.1.2.3"},
		{"X-Forwarded-For", "10.1.2.3", "X-Real-IP", "10.1.2.3", "Forwarded", "for=10.1.2.3", "X-Client-IP", "10.1.2.3", "True-Client-IP", "10.1.2.3"},
	}
	for _, h := range spoofs {
		if status, body, _ := gatewaytest.Do(t, "GET", g.URL+"/internal/x", nil, h...); status != 403 {
			t.Fatalf("%v: status %d, want 403: %s", h, status, body)
		}
		// The denied loopback client stays denied whatever it claims.
		if status, _, _ := gatewaytest.Do(t, "GET", g.URL+"/blocked/x", nil, h...); status != 403 {
			t.Fatalf("%v on /blocked/: status %d, want 403", h, status)
		}
	}
	if u.Hits() != 0 {
		t.Fatal("upstream reached")
	}
	// What goes upstream is the gateway's view, not the client's claim.
	gatewaytest.Do(t, "GET", g.URL+"/other", nil, "X-Forwarded-For", "10.1.2.3", "X-Real-IP", "10.1.2.3")
	s := u.last(t)
	if got := s.header("X-Real-IP"); len(got) != 1 || got[0] != "127.0.0.1" {
		t.Fatalf("upstream X-Real-IP %v", got)
	}
	if got := s.header("X-Forwarded-For"); len(got) != 1 || got[0] != "127.0.0.1" {
		t.Fatalf("upstream X-Forwarded-For %v", got)
	}
}

// Behind a trusted proxy the rightmost untrusted address is the client.
func TestTrustedProxyClientIP(t *testing.T) {
	u := startRecorder(t)
	g := gatewaytest.Start(t, ipConfig(u, `"127.0.0.1"`))
	cases := []struct {
		xff    string
		status int
	}{
		{"10.1.2.3", 200},
		{"203.0.113.9, 10.1.2.3", 200}, // the client prepended a fake; the proxy appended 10.1.2.3
		{"10.1.2.3, 203.0.113.9", 403}, // the real client is 203.0.113.9
		{"10.9.9.9, 10.1.2.3, 127.0.0.1", 200},
		{"garbage", 403},
	}
	for _, tc := range cases {
		if status, body, _ := gatewaytest.Do(t, "GET", g.URL+"/internal/x", nil, "X-Forwarded-For", tc.xff); status != tc.status {
			t.Fatalf("XFF %q: status %d, want %d: %s", tc.xff, status, tc.status, body)
		}
	}
	if status, _, _ := gatewaytest.Do(t, "GET", g.URL+"/blocked/x", nil, "X-Forwarded-For", "198.51.100.7, 203.0.113.5"); status != 403 {
		t.Fatalf("denied client behind proxy: status %d", status)
	}
	if status, _, _ := gatewaytest.Do(t, "GET", g.URL+"/blocked/x", nil, "X-Forwarded-For", "203.0.113.5, 198.51.100.7"); status != 200 {
		t.Fatalf("allowed client behind proxy: status %d", status)
	}
}
