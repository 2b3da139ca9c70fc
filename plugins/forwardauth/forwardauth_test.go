package forwardauth

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/valyala/fasthttp"
)

func TestForwardAuth(t *testing.T) {
	var authCalls atomic.Int64
	var sawURI atomic.Value
	auth := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		authCalls.Add(1)
		sawURI.Store(string(ctx.Request.Header.Peek("X-Forwarded-Uri")))
		switch string(ctx.Request.Header.Peek("Authorization")) {
		case "Bearer good":
			ctx.Response.Header.Set("X-User-Id", "u1")
			ctx.Response.Header.Set("X-User-Groups", "staff,ops")
		case "Bearer slow":
			time.Sleep(time.Second)
		case "Bearer boom":
			ctx.SetStatusCode(500)
		case "Bearer other":
			ctx.SetStatusCode(302)
			ctx.Response.Header.Set("Location", "https://login.example.com/")
		default:
			ctx.SetStatusCode(401)
			ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="sso"`)
			ctx.Response.Header.Set("X-Internal", "secret-detail")
			ctx.SetContentType("application/json")
			ctx.SetBodyString(`{"error":"login required"}`)
		}
	})
	var upstreamSaw atomic.Value
	u := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		upstreamSaw.Store(string(ctx.Request.Header.Peek("X-User-Id")) + "|" + string(ctx.Request.Header.Peek("X-Consumer-Name")) +
			"|" + string(ctx.Request.Header.Peek("X-Consumer-Groups")))
	})
	g := gatewaytest.Start(t, `
[[upstreams]]
name = "app"
targets = [{ url = "`+u.URL+`" }]
[[routes]]
paths = ["/"]
upstream = "app"
  [[routes.plugins]]
  name = "forward-auth"
  [routes.plugins.config]
  url = "`+auth.URL+`/verify"
  timeout = "300ms"
  upstream_headers = ["X-User-Id"]
  consumer_header = "X-User-Id"
  groups_header = "X-User-Groups"
  cache_ttl = "1m"
`)
	status, body, _ := gatewaytest.Do(t, "GET", g.URL+"/orders?id=1", nil, "Authorization", "Bearer good", "X-User-Id", "admin", "x_user_id", "admin")
	if status != 200 || upstreamSaw.Load() != "u1|u1|staff,ops" {
		t.Fatalf("good: status %d, upstream saw %v: %s", status, upstreamSaw.Load(), body)
	}
	if sawURI.Load() != "/orders?id=1" {
		t.Fatalf("auth service saw X-Forwarded-Uri %v", sawURI.Load())
	}
	calls := authCalls.Load()
	// A repeat is answered from the cache of positive answers.
	if status, _, _ := gatewaytest.Do(t, "GET", g.URL+"/orders?id=1", nil, "Authorization", "Bearer good"); status != 200 || authCalls.Load() != calls {
		t.Fatalf("cached: status %d, calls %d -> %d", status, calls, authCalls.Load())
	}
	before := u.Hits()
	status, body, resp := gatewaytest.Do(t, "GET", g.URL+"/orders", nil, "Authorization", "Bearer bad")
	if status != 401 || string(body) != `{"error":"login required"}` || string(resp.Header.Peek("WWW-Authenticate")) != `Bearer realm="sso"` ||
		resp.Header.Peek("X-Internal") != nil {
		t.Fatalf("refused: status %d, body %s, headers %s", status, body, resp.Header.String())
	}
	// Refusals are not cached.
	calls = authCalls.Load()
	gatewaytest.Do(t, "GET", g.URL+"/orders", nil, "Authorization", "Bearer bad")
	if authCalls.Load() != calls+1 {
		t.Fatal("a refusal was cached")
	}
	if status, _, resp := gatewaytest.Do(t, "GET", g.URL+"/orders", nil, "Authorization", "Bearer other"); status != 302 || !strings.HasPrefix(string(resp.Header.Peek("Location")), "https://login.") {
		t.Fatalf("redirect: status %d", status)
	}
	if status, _, _ := gatewaytest.Do(t, "GET", g.URL+"/orders", nil, "Authorization", "Bearer boom"); status != 502 {
		t.Fatalf("service error: status %d, want 502", status)
	}
	if status, _, _ := gatewaytest.Do(t, "GET", g.URL+"/orders", nil, "Authorization", "Bearer slow"); status != 503 {
		t.Fatalf("service too slow: status %d, want 503", status)
	}
	if u.Hits() != before {
		t.Fatal("a refused request reached the upstream")
	}
	auth.Close()
	if status, _, _ := gatewaytest.Do(t, "GET", g.URL+"/orders", nil, "Authorization", "Bearer new"); status != 503 {
		t.Fatalf("service down: status %d, want 503", status)
	}
}
