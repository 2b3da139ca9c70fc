package requestvalidator_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	_ "github.com/moongate/moongate/plugins/requestid"
	_ "github.com/moongate/moongate/plugins/requestvalidator"
	"github.com/valyala/fasthttp"
)

// TestEndToEnd: what breaks the schema or lacks a required header never
// reaches the upstream; the client gets 400 with every violation (and the
// request ID); a body too large to validate gets 413.
func TestEndToEnd(t *testing.T) {
	u := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("created") })
	g := gatewaytest.Start(t, `
[server]
listen = "127.0.0.1:0"
buffer_body_size = "4KB"
[[upstreams]]
name = "app"
targets = [{ url = "`+u.URL+`" }]
[[plugins]]
name = "request-id"
[[routes]]
paths = ["/orders"]
upstream = "app"
  [[routes.plugins]]
  name = "request-validator"
  [routes.plugins.config]
  required_headers = ["X-Tenant"]
  max_body_size = "64KB"
  [routes.plugins.config.schema]
  type = "object"
  required = ["item", "qty"]
  properties = { item = { type = "string" }, qty = { type = "integer", minimum = 1 } }
`)
	status, body, _ := gatewaytest.Do(t, "POST", g.URL+"/orders", []byte(`{"item":"book","qty":2}`),
		"Content-Type", "application/json", "X-Tenant", "acme")
	if status != 200 || string(body) != "created" {
		t.Fatalf("valid request: %d %s", status, body)
	}
	status, body, resp := gatewaytest.Do(t, "POST", g.URL+"/orders", []byte(`{"item":7,"qty":0}`), "Content-Type", "application/json")
	var a struct {
		Status     int    `json:"status"`
		RequestID  string `json:"request_id"`
		Violations []struct{ In, Name, Path, Message string }
	}
	if err := json.Unmarshal(body, &a); err != nil || status != 400 || a.Status != 400 || len(a.Violations) != 3 {
		t.Fatalf("got %d %s (%v)", status, body, err)
	}
	if a.RequestID == "" || a.RequestID != string(resp.Header.Peek("X-Request-Id")) {
		t.Fatalf("request_id %q, X-Request-Id %q", a.RequestID, resp.Header.Peek("X-Request-Id"))
	}
	// Over buffer_body_size the body would stream to the upstream
	// unchecked: refused.
	big := `{"item":"` + strings.Repeat("a", 8<<10) + `","qty":1}`
	status, body, _ = gatewaytest.Do(t, "POST", g.URL+"/orders", []byte(big), "Content-Type", "application/json", "X-Tenant", "acme")
	if status != 413 {
		t.Fatalf("streamed body: %d %s", status, body)
	}
	if u.Hits() != 1 {
		t.Fatalf("the upstream got %d requests, want only the valid one", u.Hits())
	}
}
