package lua_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/valyala/fasthttp"
)

const tenantScript = `
local M = {}
function M.on_request(conf)
  local mode = gw.request.get_header("X-Mode")
  if mode == "undeclared" then
    local ok, err = gw.metrics.inc("undeclared_total", {})
    gw.response.exit(200, tostring(ok) .. "|" .. tostring(err))
  elseif mode == "badlabel" then
    local ok, err = gw.metrics.inc("tenant_requests_total", { color = "red" })
    gw.response.exit(200, tostring(ok) .. "|" .. tostring(err))
  elseif mode == "fail" then
    error("boom")
  elseif mode == "loop" then
    while true do end
  end
  local ok, err = gw.metrics.inc("tenant_requests_total", { tenant = gw.request.get_header("X-Tenant") or "none", plan = 3 })
  if not ok then error(err) end
end
return M
`

// TestMetricsScripts: a script counts with gw.metrics.inc into the
// counters its step declares, bounded in series; an undeclared counter
// or label is an error the script gets back; calls, errors and timeouts
// are counted per script. Read from /metrics of a real gateway.
func TestMetricsScripts(t *testing.T) {
	dir := writeScripts(t, map[string]string{"tenant.lua": tenantScript})
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	script := dir + "/tenant.lua"
	g := gatewaytest.Start(t, `
[lua]
dir = "`+dir+`"
[[upstreams]]
name = "up"
targets = [{ url = "`+up.URL+`" }]
[[routes]]
name = "t"
paths = ["/"]
upstream = "up"
  [[routes.plugins]]
  script = "`+script+`"
  metrics = { tenant_requests_total = ["tenant", "plan"] }
`)
	do := func(headers ...string) (int, string) {
		st, body, _ := gatewaytest.Do(t, "GET", g.URL+"/x", nil, headers...)
		return st, string(body)
	}
	calls := 0
	for _, tenant := range []string{"acme", "acme", "acme", "globex", "globex"} {
		if st, body := do("X-Tenant", tenant); st != 200 {
			t.Fatalf("tenant %s: %d %s", tenant, st, body)
		}
		calls++
	}
	if st, body := do("X-Mode", "undeclared"); st != 200 || body != `nil|gw.metrics.inc: undeclared counter "undeclared_total" (declare it in the step's metrics)` {
		t.Errorf("undeclared counter: %d %q", st, body)
	}
	if st, body := do("X-Mode", "badlabel"); st != 200 || body != `nil|gw.metrics.inc: label "color" is not declared for "tenant_requests_total"` {
		t.Errorf("undeclared label: %d %q", st, body)
	}
	if st, _ := do("X-Mode", "fail"); st != 500 {
		t.Errorf("failing script: %d", st)
	}
	if st, _ := do("X-Mode", "loop"); st != 500 {
		t.Errorf("looping script: %d", st)
	}
	calls += 4
	// More tenants than a counter keeps series for: the rest count as "other".
	for i := 0; i < 100; i++ {
		do("X-Tenant", "t"+strconv.Itoa(i))
		calls++
	}
	s := gatewaytest.Scrape(t, g.AdminURL)
	family := "moongate_script_tenant_requests_total"
	for _, c := range []struct {
		family string
		labels []string
		want   float64
	}{
		{family, []string{"script", script, "tenant", "acme", "plan", "3"}, 3},
		{family, []string{"script", script, "tenant", "globex", "plan", "3"}, 2},
		{family, []string{"script", script, "tenant", "other", "plan", "other"}, 2},
		{"moongate_lua_calls_total", []string{"script", script}, float64(calls)},
		{"moongate_lua_errors_total", []string{"script", script}, 2},
		{"moongate_lua_timeouts_total", []string{"script", script}, 1},
	} {
		if got, ok := s.Value(c.family, c.labels...); !ok || got != c.want {
			t.Errorf("%s%q = %v (present %v), want %v", c.family, c.labels, got, ok, c.want)
		}
	}
	if n := s.Series(family); n != 101 {
		t.Errorf("%d series of %s, want 100 and the \"other\" one", n, family)
	}
	if strings.Contains(s.Text, "undeclared_total") || strings.Contains(s.Text, `color=`) {
		t.Error("an undeclared counter or label reached /metrics")
	}
}
