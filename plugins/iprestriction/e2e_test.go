package iprestriction_test

import (
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	_ "github.com/moongate/moongate/plugins/iprestriction"
	"github.com/valyala/fasthttp"
)

func gateway(t *testing.T, trusted string) (*gatewaytest.Gateway, *gatewaytest.Upstream) {
	u := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	g := gatewaytest.Start(t, `
[server]
listen = "127.0.0.1:0"
trusted_proxies = [`+trusted+`]
[[upstreams]]
name = "app"
targets = [{ url = "`+u.URL+`" }]
[[routes]]
paths = ["/"]
upstream = "app"
  [[routes.plugins]]
  name = "ip-restriction"
  [routes.plugins.config]
  deny = ["203.0.113.0/24"]
  header = "CF-Connecting-IP"
[[routes]]
paths = ["/office/"]
upstream = "app"
  [[routes.plugins]]
  name = "ip-restriction"
  [routes.plugins.config]
  allow = ["198.51.100.0/24"]
  header = "CF-Connecting-IP"
`)
	return g, u
}

// TestHeaderFromTrustedProxy: behind a trusted proxy, the address in the
// configured header is the one checked.
func TestHeaderFromTrustedProxy(t *testing.T) {
	g, _ := gateway(t, `"127.0.0.1"`)
	for _, tc := range []struct {
		header string
		status int
	}{
		{"203.0.113.9", 403},
		{"198.51.100.1", 200},
		{"198.51.100.1, 203.0.113.9", 403}, // the nearest proxy's, last
		{"", 200},                          // absent: the real client address
		{"not-an-address", 200},            // unreadable: the real client address
	} {
		var h []string
		if tc.header != "" {
			h = []string{"CF-Connecting-IP", tc.header}
		}
		if status, body, _ := gatewaytest.Do(t, "GET", g.URL+"/", nil, h...); status != tc.status {
			t.Errorf("CF-Connecting-IP %q: %d %s, want %d", tc.header, status, body, tc.status)
		}
	}
}

// TestHeaderFromUntrustedClient: a client that is not a trusted proxy
// cannot choose the address checked by sending the header itself: not to
// get into an allow list, not to get out of a deny list.
func TestHeaderFromUntrustedClient(t *testing.T) {
	g, u := gateway(t, `"10.0.0.0/8"`)
	status, _, _ := gatewaytest.Do(t, "GET", g.URL+"/office/x", nil, "CF-Connecting-IP", "198.51.100.7")
	if status != 403 || u.Hits() != 0 {
		t.Fatalf("a spoofed header opened an allow list: status %d, upstream hits %d", status, u.Hits())
	}
	status, _, _ = gatewaytest.Do(t, "GET", g.URL+"/", nil, "CF-Connecting-IP", "203.0.113.9")
	if status != 200 {
		t.Fatalf("a spoofed header was believed: status %d", status)
	}
	// The same header from a trusted proxy opens it.
	g, _ = gateway(t, `"127.0.0.1"`)
	if status, _, _ := gatewaytest.Do(t, "GET", g.URL+"/office/x", nil, "CF-Connecting-IP", "198.51.100.7"); status != 200 {
		t.Fatalf("from a trusted proxy: status %d", status)
	}
}
