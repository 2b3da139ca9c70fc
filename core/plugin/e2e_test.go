package plugin_test

import (
	"strings"
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/valyala/fasthttp"
)

// TestHelloEndToEnd runs the hello step in a real gateway, in front of a
// real upstream, both on 127.0.0.1: what a client and the upstream see.
func TestHelloEndToEnd(t *testing.T) {
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetBodyString("upstream saw: " + string(ctx.Request.Header.Peek("X-Greeting")))
	})
	g := gatewaytest.Start(t, `
[[upstreams]]
name = "app"
targets = [{ url = "`+up.URL+`" }]

[[routes]]
paths = ["/"]
upstream = "app"
  [[routes.plugins]]
  name = "hello"
  [routes.plugins.config]
  greeting = "hi"
`)
	status, body, resp := gatewaytest.Do(t, "GET", g.URL+"/x", nil, "X-Name", "Ada")
	if status != 200 || string(body) != "upstream saw: hi, Ada" || string(resp.Header.Peek("X-Greeting")) != "hi" {
		t.Fatalf("status %d, body %q, X-Greeting %q", status, body, resp.Header.Peek("X-Greeting"))
	}
	status, body, _ = gatewaytest.Do(t, "GET", g.URL+"/x", nil)
	if status != 400 || !strings.Contains(string(body), "X-Name is required") || up.Hits() != 1 {
		t.Fatalf("no name: status %d, body %s, upstream hits %d", status, body, up.Hits())
	}
}
