package cors

import (
	"strings"
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	_ "github.com/moongate/moongate/plugins/keyauth"
	"github.com/valyala/fasthttp"
)

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

func TestOriginLookAlikes(t *testing.T) {
	g, _ := start(t)
	cases := []struct {
		origin string
		ok     bool
	}{
		{"https://app.example.com", true},
		{"http://localhost:3000", true},
		{"https://acme.tenants.example.com", true},
		{"https://app.example.com.evil.tld", false},
		{"https://app.example.comevil.tld", false},
		{"https://evil-app.example.com", false},
		{"https://evilapp.example.com", false},
		{"http://app.example.com", false},
		{"https://app.example.com:8443", false},
		{"https://app.example.com/", false},
		{"https://APP.example.com", false},
		{"null", false},
		{"https://a.b.tenants.example.com", false},
		{"https://.tenants.example.com", false},
		{"https://evil.tld/.tenants.example.com", false},
		{"https://evil.tld?.tenants.example.com", false},
		{"https://eviltenants.example.com", false},
		{"https://tenants.example.com", false},
		{"http://acme.tenants.example.com", false},
		{"https://acme.tenants.example.com.evil.tld", false},
		{"http://localhost:30000", false},
		{"*", false},
	}
	for _, tc := range cases {
		t.Run(tc.origin, func(t *testing.T) {
			status, body, resp := gatewaytest.Do(t, "GET", g.URL+"/api/orders", nil, "Origin", tc.origin, "X-API-Key", "alice-key")
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			acao := string(resp.Header.Peek("Access-Control-Allow-Origin"))
			if tc.ok && (acao != tc.origin || string(resp.Header.Peek("Access-Control-Expose-Headers")) != "X-Request-Id") {
				t.Fatalf("allowed origin: ACAO %q, expose %q", acao, resp.Header.Peek("Access-Control-Expose-Headers"))
			}
			if !tc.ok && (acao != "" || len(resp.Header.Peek("Access-Control-Allow-Credentials")) != 0) {
				t.Fatalf("look-alike allowed: ACAO %q", acao)
			}
			if !strings.Contains(string(resp.Header.Peek("Vary")), "Origin") {
				t.Fatalf("Vary %q lacks Origin", resp.Header.Peek("Vary"))
			}
		})
	}
	// A refusal by a later step still carries the CORS headers, so the
	// browser lets the page read the 401.
	status, _, resp := gatewaytest.Do(t, "GET", g.URL+"/api/orders", nil, "Origin", "https://app.example.com")
	if status != 401 || string(resp.Header.Peek("Access-Control-Allow-Origin")) != "https://app.example.com" {
		t.Fatalf("401: status %d, ACAO %q", status, resp.Header.Peek("Access-Control-Allow-Origin"))
	}
}
