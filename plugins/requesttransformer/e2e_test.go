package requesttransformer_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	_ "github.com/moongate/moongate/plugins/cache"
	_ "github.com/moongate/moongate/plugins/requesttransformer"
	"github.com/valyala/fasthttp"
)

// seen is what the echo upstream received.
type seen struct {
	Method, Path, Query, Body string
	Headers                   map[string]string
	ContentLength             int
}

// echo answers with what it received, as JSON.
func echo(t *testing.T) *gatewaytest.Upstream {
	return gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		s := seen{Method: string(ctx.Method()), Path: string(ctx.Path()), Query: string(ctx.QueryArgs().QueryString()),
			Body: string(ctx.Request.Body()), Headers: map[string]string{}, ContentLength: ctx.Request.Header.ContentLength()}
		for k, v := range ctx.Request.Header.All() {
			if bytes.HasPrefix(k, []byte("X-")) {
				s.Headers[string(k)] = string(v)
			}
		}
		b, _ := json.Marshal(s)
		ctx.SetContentType("application/json")
		ctx.SetBody(b)
	})
}

func decode(t *testing.T, body []byte) seen {
	t.Helper()
	var s seen
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return s
}

func start(t *testing.T, extra string) (*gatewaytest.Gateway, *gatewaytest.Upstream) {
	u := echo(t)
	g := gatewaytest.Start(t, extra+`
[[upstreams]]
name = "app"
targets = [{ url = "`+u.URL+`" }]
[[routes]]
name = "v1"
paths = ["/v1/"]
upstream = "app"
  [[routes.plugins]]
  name = "request-transformer"
  [routes.plugins.config]
  method = "PUT"
  path = { from = "^/v1/(.*)$", to = "/api/$1" }
  [routes.plugins.config.remove]
  headers = ["X-Debug"]
  query = ["debug"]
  body = ["password"]
  [routes.plugins.config.set]
  headers = { "X-Item" = "$1" }
  query = { "source" = "gateway" }
  body = { "meta.client" = "$(header.x-client)", "meta.version" = 2 }
[[routes]]
name = "tenants"
paths = ["/t/"]
upstream = "app"
  [[routes.plugins]]
  name = "request-transformer"
  [routes.plugins.config]
  path = { to = "/tenants/$(header.x-tenant)/data" }
`)
	return g, u
}

// TestEndToEnd: the upstream gets the transformed request — method, path,
// headers, query and JSON body — with a Content-Length that matches the
// new body.
func TestEndToEnd(t *testing.T) {
	g, _ := start(t, "")
	status, body, _ := gatewaytest.Do(t, "POST", g.URL+"/v1/orders/7?debug=1&page=2",
		[]byte(`{"item":"book","password":"hunter2"}`),
		"Content-Type", "application/json", "X-Debug", "1", "X-Client", `web "v2"`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	s := decode(t, body)
	want := `{"item":"book","meta":{"client":"web \"v2\"","version":2}}`
	if s.Method != "PUT" || s.Path != "/api/orders/7" || s.Query != "page=2&source=gateway" || s.Body != want {
		t.Fatalf("upstream got %+v", s)
	}
	if s.ContentLength != len(want) {
		t.Fatalf("Content-Length %d for a body of %d bytes", s.ContentLength, len(want))
	}
	if _, ok := s.Headers["X-Debug"]; ok || s.Headers["X-Item"] != "orders/7" {
		t.Fatalf("headers %v", s.Headers)
	}
}

// TestBodyNotJSON: a body that does not parse goes upstream as sent,
// never a 500.
func TestBodyNotJSON(t *testing.T) {
	g, _ := start(t, "")
	sent := `{"item": "book", oops`
	status, body, _ := gatewaytest.Do(t, "POST", g.URL+"/v1/orders", []byte(sent), "Content-Type", "application/json")
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	if s := decode(t, body); s.Body != sent || s.ContentLength != len(sent) {
		t.Fatalf("upstream got body %q (Content-Length %d)", s.Body, s.ContentLength)
	}
}

// TestStreamedBodyNotBuffered: a body over server.buffer_body_size
// streams to the upstream as it arrives; the step does not read it into
// memory to edit it: it arrives untouched, whole.
func TestStreamedBodyNotBuffered(t *testing.T) {
	g, _ := start(t, "[server]\nlisten = \"127.0.0.1:0\"\nbuffer_body_size = \"1KB\"\n")
	sent := `{"password":"x","pad":"` + strings.Repeat("a", 8<<10) + `"}`
	status, body, _ := gatewaytest.Do(t, "POST", g.URL+"/v1/orders", []byte(sent), "Content-Type", "application/json")
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	if s := decode(t, body); s.Body != sent {
		t.Fatalf("upstream got a body of %d bytes, not the %d sent", len(s.Body), len(sent))
	}
}

// TestRewriteEscapeRefused: the attacker's header puts "../" in a
// rewritten path to reach another part of the upstream than the route's
// template allows. The step refuses it (400); the upstream gets nothing.
func TestRewriteEscapeRefused(t *testing.T) {
	g, u := start(t, "")
	status, body, _ := gatewaytest.Do(t, "GET", g.URL+"/t/x", nil, "X-Tenant", "acme")
	if status != 200 || decode(t, body).Path != "/tenants/acme/data" {
		t.Fatalf("status %d: %s", status, body)
	}
	hits := u.Hits()
	for _, tenant := range []string{"..", "../../admin", "acme/../../admin", "./x", "a;jsessionid=1"} {
		status, body, _ := gatewaytest.Do(t, "GET", g.URL+"/t/x", nil, "X-Tenant", tenant)
		if status != 400 {
			t.Fatalf("X-Tenant %q: status %d: %s", tenant, status, body)
		}
	}
	if u.Hits() != hits {
		t.Fatalf("the upstream got %d refused requests", u.Hits()-hits)
	}
	// A value with "/" adds segments under the template's prefix, no more.
	status, body, _ = gatewaytest.Do(t, "GET", g.URL+"/t/x", nil, "X-Tenant", "a/b")
	if p := decode(t, body).Path; status != 200 || p != "/tenants/a/b/data" {
		t.Fatalf("status %d, path %q", status, p)
	}
}

// TestCachePoisoning: the attacker sends a header the step copies into
// the upstream request (X-Tenant from X-Client-Tenant), before a cache
// step, to get its response stored under the key the victim's request
// hits. The values the step wrote are part of the cache key: the victim
// gets the answer for its own tenant.
func TestCachePoisoning(t *testing.T) {
	u := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Cache-Control", "max-age=600")
		ctx.SetBodyString("tenant=" + string(ctx.Request.Header.Peek("X-Tenant")))
	})
	g := gatewaytest.Start(t, `
[cache]
size = "32MB"
[[upstreams]]
name = "app"
targets = [{ url = "`+u.URL+`" }]
[[routes]]
paths = ["/"]
upstream = "app"
  [[routes.plugins]]
  name = "request-transformer"
  [routes.plugins.config.set]
  headers = { "X-Tenant" = "$(header.x-client-tenant)" }
  [[routes.plugins]]
  name = "cache"
`)
	if _, body, _ := gatewaytest.Do(t, "GET", g.URL+"/report", nil, "X-Client-Tenant", "evil"); string(body) != "tenant=evil" {
		t.Fatalf("attacker got %q", body)
	}
	_, body, resp := gatewaytest.Do(t, "GET", g.URL+"/report", nil, "X-Client-Tenant", "acme")
	if string(body) != "tenant=acme" {
		t.Fatalf("the victim got %q (X-Cache-Status %s)", body, resp.Header.Peek("X-Cache-Status"))
	}
	// Each tenant's own entry is still shared by its own requests.
	if _, _, resp := gatewaytest.Do(t, "GET", g.URL+"/report", nil, "X-Client-Tenant", "acme"); string(resp.Header.Peek("X-Cache-Status")) != "HIT" {
		t.Fatalf("X-Cache-Status %s", resp.Header.Peek("X-Cache-Status"))
	}
}
