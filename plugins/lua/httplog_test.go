package lua_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/valyala/fasthttp"
)

// httpLogScript ships every request to a collector from on_log: the
// http-log a user writes in Lua.
const httpLogScript = `return { on_log = function(conf)
  local res, err = gw.http.request{ url = conf.collector, method = "POST",
    headers = { ["Content-Type"] = "application/json" }, timeout = 2,
    body = gw.json.encode({ method = gw.request.get_method(), path = gw.request.get_path(),
      status = gw.response.get_status() }) }
  if not res then gw.log.warn("http-log: " .. err) end
end }`

// gw.http is allowed in on_log: a script ships each request's record to
// a collector on loopback, after the response.
func TestHTTPLogShipper(t *testing.T) {
	type record struct {
		Method, Path string
		Status       int
	}
	got := make(chan record, 8)
	collector := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		var r record
		if err := json.Unmarshal(ctx.Request.Body(), &r); err != nil {
			t.Errorf("collector got %q: %v", ctx.Request.Body(), err)
		}
		got <- r
	})
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(201)
		ctx.SetBodyString("made")
	})
	dir := writeScripts(t, map[string]string{"http_log.lua": httpLogScript})
	g, logs := startGateway(t, fmt.Sprintf(`
[lua]
timeout = "5s"
[[upstreams]]
name = "u"
targets = [{ url = %q }]
[[routes]]
paths = ["/"]
upstream = "u"
  [[routes.plugins]]
  script = %q
  [routes.plugins.config]
  collector = %q
`, up.URL, filepath.Join(dir, "http_log.lua"), collector.URL+"/logs"))

	if st, body, _ := gatewaytest.Do(t, "POST", g.URL+"/orders", []byte("{}")); st != 201 || string(body) != "made" {
		t.Fatalf("answer %d %q", st, body)
	}
	select {
	case r := <-got:
		if r != (record{"POST", "/orders", 201}) {
			t.Errorf("collector got %+v", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the collector got nothing; log:\n%s", logs.String())
	}
}
