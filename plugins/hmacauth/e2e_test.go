package hmacauth

import (
	"net/http"
	"testing"
	"time"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/valyala/fasthttp"
)

// TestSignedRequestsEndToEnd: a signed request through a real gateway
// reaches the upstream as alice; replayed, or sent to another path than
// the one signed, it does not. The table of signatures is a unit test
// (hmacauth_test.go).
func TestSignedRequestsEndToEnd(t *testing.T) {
	u := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetBodyString(string(ctx.Request.Header.Peek("X-Consumer-Name")))
	})
	g := gatewaytest.Start(t, `
[[consumers]]
name = "alice"
hmac_secrets = [{ key = "alice-hmac", secret = "`+secret+`" }]
[[upstreams]]
name = "app"
targets = [{ url = "`+u.URL+`" }]
[[routes]]
paths = ["/"]
upstream = "app"
  [[routes.plugins]]
  name = "hmac-auth"
  [routes.plugins.config]
  algorithms = ["hmac-sha256"]
`)
	now := time.Now().UTC().Format(http.TimeFormat)
	valid := signed{method: "GET", target: "/orders?id=1", date: now, headers: "@request-target date"}
	if status, body, _ := gatewaytest.Do(t, "GET", g.URL+"/orders?id=1", nil, valid.authorization()...); status != 200 || string(body) != "alice" {
		t.Fatalf("valid: status %d, upstream saw %q", status, body)
	}
	if status, _, resp := gatewaytest.Do(t, "GET", g.URL+"/orders?id=1", nil, valid.authorization()...); status != 401 || len(resp.Header.Peek("WWW-Authenticate")) == 0 {
		t.Fatalf("replayed: status %d", status)
	}
	other := signed{method: "GET", target: "/orders?id=2", date: now, headers: "@request-target date"}
	if status, _, _ := gatewaytest.Do(t, "GET", g.URL+"/admin?id=2", nil, other.authorization()...); status != 401 {
		t.Fatalf("signed for another path: status %d", status)
	}
	if u.Hits() != 1 {
		t.Fatalf("upstream hits %d, want 1", u.Hits())
	}
}
