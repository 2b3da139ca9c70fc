package lua_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/core/cli"
	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/valyala/fasthttp"
)

// validate runs `moongate validate` on toml and returns its exit code and output.
func validate(t *testing.T, toml string) (int, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "moongate.toml")
	os.WriteFile(file, []byte(toml), 0o600)
	var stdout, stderr bytes.Buffer
	code := cli.Main([]string{"validate", "-c", file}, &stdout, &stderr)
	return code, strings.ReplaceAll(stdout.String()+stderr.String(), file, "moongate.toml")
}

func TestValidateScripts(t *testing.T) {
	dir := writeScripts(t, map[string]string{
		"syntax.lua":   "local M = {}\nfunction M.on_request(conf)\n  if then\nend\nreturn M\n",
		"bytecode.lua": "\x1bLua\x51\x00\x01\x04\x08\x04\x08\x00",
		"notable.lua":  "return 42",
		"nophase.lua":  "return { _helper = function() end }",
		"toperr.lua":   "local x = nil\nx.y = 1\nreturn {}",
		"loop.lua":     "while true do end",
		"good.lua":     "local util = require('lib.util')\nreturn { on_request = function() gw.request.set_header('X-U', util.name) end }",
		"lib/util.lua": "return { name = 'util' }",
		"needsbc.lua":  "local m = require('bc')\nreturn { on_request = function() end }",
		"bc.lua":       "\x1bLua\x51\x00",
	})
	cases := []struct {
		script string
		want   string // "" = valid
	}{
		{"good.lua", ""},
		{"syntax.lua", "moongate.toml:9: routes[0].plugins[0].script: " + dir + "/syntax.lua:3: syntax error"},
		{"bytecode.lua", "precompiled (bytecode) chunks are not accepted"},
		{"notable.lua", "the script must return a table"},
		{"nophase.lua", "defines none of on_request, on_response, on_log"},
		{"toperr.lua", dir + "/toperr.lua:2: attempt to index a non-table object(nil)"},
		{"loop.lua", "loading the script ran past max_instructions = 20000"},
		{"needsbc.lua", `require "bc": ` + dir + "/bc.lua: precompiled (bytecode) chunks are not accepted"},
		{"missing.lua", "routes[0].plugins[0].script: cannot read " + dir + "/missing.lua: no such file or directory"},
	}
	for _, tc := range cases {
		t.Run(tc.script, func(t *testing.T) {
			// A small instruction budget stops loop.lua long before the
			// 1s wall-clock backstop, however slow the machine (-race).
			code, out := validate(t, fmt.Sprintf(`[lua]
dir = %q
max_instructions = 20000
[admin]
listen = ""
[[routes]]
paths = ["/"]
  [[routes.plugins]]
  script = %q
`, dir, filepath.Join(dir, tc.script)))
			if tc.want == "" {
				if code != 0 {
					t.Fatalf("got exit %d: %s, want ok", code, out)
				}
				return
			}
			if code != 1 || !strings.Contains(out, tc.want) {
				t.Fatalf("got exit %d:\n%s\nwant exit 1 and %q", code, out, tc.want)
			}
		})
	}
}

func TestValidateLuaSection(t *testing.T) {
	code, out := validate(t, `[lua]
timeout = "0s"
max_string_size = "10B"
max_memory = "100KB"
[[routes]]
paths = ["/"]
  [[routes.plugins]]
  script = "x.lua"
  timeout = "1m"
`)
	for _, want := range []string{"moongate.toml:2: lua.timeout: must be more than 0s and at most 30s, got 0s",
		"moongate.toml:3: lua.max_string_size: must be at least 1KB, got 10B",
		"moongate.toml:4: lua.max_memory: must be at least 1MB and at most 1TB, got 100KB",
		"moongate.toml:9: routes[0].plugins[0].timeout: must be at most 30s, got 1m0s"} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("got exit %d:\n%s\nwant %q", code, out, want)
		}
	}
}

// TestReloadAndWatch checks that scripts are read again on reload, and
// that lua.watch reloads by itself when a script changes.
func TestReloadAndWatch(t *testing.T) {
	dir := writeScripts(t, map[string]string{"v.lua": `return { on_request = function() gw.request.set_header("X-V", "1") end }`})
	up := echoUpstream(t)
	conf := func(watch bool) string {
		return fmt.Sprintf(`[lua]
dir = %q
watch = %v
timeout = "5s"
[[upstreams]]
name = "up"
targets = [{ url = %q }]
[[routes]]
paths = ["/"]
upstream = "up"
  [[routes.plugins]]
  script = %q
`, dir, watch, up.URL, filepath.Join(dir, "v.lua"))
	}
	g := gatewaytest.Start(t, conf(false))
	version := func() string {
		_, _, resp := gatewaytest.Do(t, "GET", g.URL+"/", nil)
		return string(resp.Header.Peek("Got-X-V"))
	}
	if v := version(); v != "1" {
		t.Fatalf("got X-V %q, want 1", v)
	}
	os.WriteFile(filepath.Join(dir, "v.lua"), []byte(`return { on_request = function() gw.request.set_header("X-V", "2") end }`), 0o644)
	if v := version(); v != "1" {
		t.Fatalf("before reload: got X-V %q, want 1 (scripts load with the config)", v)
	}
	if st, body, _ := gatewaytest.Do(t, "POST", g.AdminURL+"/reload", nil); st != 200 {
		t.Fatalf("reload: %d %s", st, body)
	}
	if v := version(); v != "2" {
		t.Fatalf("after reload: got X-V %q, want 2", v)
	}
	// A broken script is refused by the reload; the old one keeps serving.
	os.WriteFile(filepath.Join(dir, "v.lua"), []byte(`return { on_request = function( end }`), 0o644)
	if st, body, _ := gatewaytest.Do(t, "POST", g.AdminURL+"/reload", nil); st != 422 || !strings.Contains(string(body), "v.lua:1: syntax error") {
		t.Fatalf("reload of a broken script: got %d %s, want 422 naming v.lua:1", st, body)
	}
	if v := version(); v != "2" {
		t.Fatalf("after a refused reload: got X-V %q, want 2", v)
	}

	os.WriteFile(filepath.Join(dir, "v.lua"), []byte(`return { on_request = function() gw.request.set_header("X-V", "2") end }`), 0o644)
	w := gatewaytest.Start(t, conf(true))
	os.WriteFile(filepath.Join(dir, "v.lua"), []byte(`return { on_request = function() gw.request.set_header("X-V", "3") end }`), 0o644)
	for i := 0; ; i++ {
		_, _, resp := gatewaytest.Do(t, "GET", w.URL+"/", nil)
		if string(resp.Header.Peek("Got-X-V")) == "3" {
			break
		}
		if i == 200 {
			t.Fatal("lua.watch did not reload the changed script within 20s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSDKThroughGateway drives the SDK through a real gateway and real
// upstreams: tenant routing (scripts/tenant.lua) and redaction
// (scripts/redact.lua), path, query and response changes, an early exit.
func TestSDKThroughGateway(t *testing.T) {
	acme := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("X-Served-By", "acme")
		ctx.Response.Header.Set("X-Path", string(ctx.Request.URI().RequestURI()))
		ctx.Response.Header.Set("X-Tenant-Got", string(ctx.Request.Header.Peek("X-Tenant-Id")))
		ctx.Response.Header.SetContentType("application/json")
		ctx.SetBodyString(`{"user":"bob","password":"hunter2","items":[]}`)
	})
	globex := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("X-Served-By", "globex")
	})
	dir := writeScripts(t, map[string]string{"misc.lua": `
local M = {}
function M.on_request(conf)
  if gw.request.get_path() == "/misc/exit" then
    return gw.response.exit(418, { teapot = true, id = gw.request.get_path_param("rest") }, { ["X-Exit"] = "yes" })
  end
  gw.request.set_path("/rewritten" .. gw.request.get_path())
  gw.request.set_query_arg("added", "1")
  gw.request.set_query_arg("secret", nil)
  gw.ctx.set("seen", { method = gw.request.get_method(), n = 2 })
end
function M.on_response(conf)
  local seen = gw.ctx.get("seen") or { method = "-", n = 0 }
  gw.response.set_header("X-Seen", seen.method .. ":" .. seen.n .. ":" .. gw.route.get_name() .. ":" .. (gw.upstream.get_name() or ""))
  gw.response.set_status(201)
end
return M
`})
	scripts, _ := filepath.Abs(filepath.Join("..", "..", "scripts"))
	g := gatewaytest.Start(t, fmt.Sprintf(`
[lua]
timeout = "5s"
[[upstreams]]
name = "acme-api"
targets = [{ url = %q }]
[[upstreams]]
name = "globex-api"
targets = [{ url = %q }]
[[routes]]
name = "tenants"
paths = ["/api/"]
upstream = "acme-api"
  [[routes.plugins]]
  script = %q
  [routes.plugins.config]
  tenants = { acme = "acme-api", globex = "globex-api" }
  [[routes.plugins]]
  script = %q
  [routes.plugins.config]
  fields = ["password"]
[[routes]]
name = "misc"
paths = ["/misc/{rest}"]
upstream = "acme-api"
  [[routes.plugins]]
  script = %q
`, acme.URL, globex.URL, filepath.Join(scripts, "tenant.lua"), filepath.Join(scripts, "redact.lua"), filepath.Join(dir, "misc.lua")))

	st, body, resp := gatewaytest.Do(t, "GET", g.URL+"/api/x", nil, "X-Tenant", "acme")
	if st != 200 || string(resp.Header.Peek("X-Served-By")) != "acme" || string(resp.Header.Peek("X-Tenant-Got")) != "acme" {
		t.Fatalf("acme: got %d %s served by %q", st, body, resp.Header.Peek("X-Served-By"))
	}
	if string(body) != `{"items":[],"password":"[redacted]","user":"bob"}` {
		t.Errorf("redacted body: got %s", body)
	}
	_, _, resp = gatewaytest.Do(t, "GET", g.URL+"/api/x", nil, "X-Tenant", "globex")
	if string(resp.Header.Peek("X-Served-By")) != "globex" {
		t.Errorf("globex: served by %q", resp.Header.Peek("X-Served-By"))
	}
	if st, body, _ := gatewaytest.Do(t, "GET", g.URL+"/api/x", nil); st != 400 || !strings.Contains(string(body), "missing X-Tenant header") {
		t.Errorf("no tenant: got %d %s, want 400", st, body)
	}
	before := acme.Hits()
	st, body, resp = gatewaytest.Do(t, "GET", g.URL+"/misc/exit", nil)
	if st != 201 || string(body) != `{"id":"exit","teapot":true}` || string(resp.Header.Peek("X-Exit")) != "yes" ||
		string(resp.Header.Peek("Content-Type")) != "application/json" || acme.Hits() != before {
		// on_response runs for the exit response too (status 418 -> 201).
		t.Errorf("exit: got %d %s X-Exit=%q, upstream hits %d -> %d", st, body, resp.Header.Peek("X-Exit"), before, acme.Hits())
	}
	st, _, resp = gatewaytest.Do(t, "POST", g.URL+"/misc/a?secret=s&keep=k", nil)
	if st != 201 || string(resp.Header.Peek("X-Path")) != "/rewritten/misc/a?keep=k&added=1" ||
		string(resp.Header.Peek("X-Seen")) != "POST:2:misc:acme-api" {
		t.Errorf("misc: got %d path %q seen %q", st, resp.Header.Peek("X-Path"), resp.Header.Peek("X-Seen"))
	}
}
