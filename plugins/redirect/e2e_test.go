package redirect_test

import (
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	_ "github.com/moongate/moongate/plugins/redirect"
	"github.com/valyala/fasthttp"
)

// TestEndToEnd: a route made only of a redirect needs no upstream; a
// regex redirect lets other paths through; the https redirect of a
// plain-HTTP listener keeps host, path and query.
func TestEndToEnd(t *testing.T) {
	u := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("upstream") })
	g := gatewaytest.Start(t, `
[[upstreams]]
name = "app"
targets = [{ url = "`+u.URL+`" }]
[[routes]]
name = "moved"
paths = ["/old/"]
  [[routes.plugins]]
  name = "redirect"
  [routes.plugins.config]
  to = "https://new.example.com/"
  status = 308
[[routes]]
name = "docs"
paths = ["/docs/"]
upstream = "app"
  [[routes.plugins]]
  name = "redirect"
  [routes.plugins.config]
  from = '^/docs/v1/(.*)$'
  to = "/docs/v2/$1"
  keep_query = true
[[routes]]
name = "go"
paths = ["/go/"]
  [[routes.plugins]]
  name = "redirect"
  [routes.plugins.config]
  from = '^/go(.*)$'
  to = "/$1"
[[routes]]
name = "secure"
paths = ["/secure/"]
upstream = "app"
  [[routes.plugins]]
  name = "redirect"
  [routes.plugins.config]
  https = true
  keep_query = true
`)
	for _, tc := range []struct {
		path     string
		status   int
		location string
	}{
		{"/old/anything", 308, "https://new.example.com/"},
		{"/docs/v1/intro?lang=fr", 301, "/docs/v2/intro?lang=fr"},
		{"/docs/v2/intro", 200, ""},
		{"/secure/a%20b?x=1", 301, "https://127.0.0.1/secure/a%20b?x=1"},
		// The attacker's path tries to make the target scheme-relative
		// ("//evil.com"): the client stays on this host.
		{"/go//evil.com", 301, "/evil.com"},
		{"/go/%2Fevil.com", 301, "/evil.com"},
	} {
		status, body, resp := gatewaytest.Do(t, "GET", g.URL+tc.path, nil)
		if status != tc.status || string(resp.Header.Peek("Location")) != tc.location {
			t.Errorf("%s: got %d %q (%s), want %d %q", tc.path, status, resp.Header.Peek("Location"), body, tc.status, tc.location)
		}
	}
	if u.Hits() != 1 {
		t.Fatalf("upstream hits %d, want 1 (the unredirected /docs/v2/intro)", u.Hits())
	}
}
