package cors

import (
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	_ "github.com/moongate/moongate/plugins/keyauth"
	"github.com/valyala/fasthttp"
)

// start runs a gateway whose route has cors, then key-auth, in front of
// a careless upstream. The origin checks are unit tests (cors_test.go);
// this is the end-to-end view of a preflight.
func start(t *testing.T) (*gatewaytest.Gateway, *gatewaytest.Upstream) {
	u := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		// A careless upstream that allows everyone.
		ctx.Response.Header.Set("Access-Control-Allow-Origin", "*")
		ctx.SetBodyString("ok")
	})
	g := gatewaytest.Start(t, `
[[consumers]]
name = "alice"
keys = ["alice-key"]
[[upstreams]]
name = "app"
targets = [{ url = "`+u.URL+`" }]
[[routes]]
paths = ["/api/"]
upstream = "app"
  [[routes.plugins]]
  name = "cors"
  [routes.plugins.config]
  origins = ["https://app.example.com", "http://localhost:3000"]
  origin_patterns = ["https://*.tenants.example.com"]
  methods = ["GET", "POST"]
  headers = ["X-API-Key", "Content-Type"]
  expose_headers = ["X-Request-Id"]
  credentials = true
  max_age = "5m"
  [[routes.plugins]]
  name = "key-auth"
`)
	return g, u
}

func TestPreflight(t *testing.T) {
	g, u := start(t)
	status, body, resp := gatewaytest.Do(t, "OPTIONS", g.URL+"/api/orders", nil, "Origin", "https://app.example.com",
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "x-api-key, content-type")
	if status != 204 {
		t.Fatalf("preflight: status %d: %s", status, body)
	}
	want := map[string]string{
		"Access-Control-Allow-Origin":      "https://app.example.com",
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Allow-Methods":     "GET, POST",
		"Access-Control-Allow-Headers":     "X-API-Key, Content-Type",
		"Access-Control-Max-Age":           "300",
	}
	for k, v := range want {
		if got := string(resp.Header.Peek(k)); got != v {
			t.Fatalf("%s: %q, want %q", k, got, v)
		}
	}
	if u.Hits() != 0 {
		t.Fatal("preflight reached the upstream")
	}
	refused := [][]string{
		{"Origin", "https://app.example.com", "Access-Control-Request-Method", "DELETE"},
		{"Origin", "https://app.example.com", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "X-Admin"},
		{"Origin", "https://app.example.com.evil.tld", "Access-Control-Request-Method", "GET"},
		{"Origin", "null", "Access-Control-Request-Method", "GET"},
	}
	for _, h := range refused {
		status, _, resp := gatewaytest.Do(t, "OPTIONS", g.URL+"/api/orders", nil, h...)
		if status != 403 || len(resp.Header.Peek("Access-Control-Allow-Origin")) != 0 {
			t.Fatalf("%v: status %d, ACAO %q", h, status, resp.Header.Peek("Access-Control-Allow-Origin"))
		}
	}
	if u.Hits() != 0 {
		t.Fatal("refused preflight reached the upstream")
	}
}
