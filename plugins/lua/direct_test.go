package lua_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
)

// directProbe reads gw's functions the ways a script does; the compiler
// reads gw.<namespace>.<key> directly unless the chunk declares a local
// named gw (see direct.go). %s is a line the variants differ by.
const directProbe = `%s
local lib = require("lib.probe")
local M = {}
function M.on_request(conf)
  local view = gw.request
  local put = gw.request.set_header
  put("X-Same", tostring(view.set_header == gw.request.set_header))
  put("X-Seen", gw.request.get_header("X-Probe") or "nil")
  put("X-Missing", tostring(gw.request.no_such_function) .. "," .. type(gw.json.null))
  put("X-Module", lib.seen())
  local ok, err = pcall(function() gw.request.set_header("X-Bad", "a\r\nb") end)
  put("X-Err", tostring(err))
  ok, err = pcall(function() gw.request.no_such_function() end)
  put("X-Call-Err", tostring(err))
end
return M
`

// TestDirectGWReads: a script reading gw's functions gets the same
// values, results and errors whether the compiler reads them directly
// or, in a chunk that declares a local gw, through the views; and such
// a local gw is the script's own.
func TestDirectGWReads(t *testing.T) {
	variants := map[string]string{
		"direct.lua":     "-- reads gw directly",
		"as_written.lua": "local function unused(gw) return gw end",
	}
	files := map[string]string{
		"lib/probe.lua": `return { seen = function() return gw.request.get_header("X-Probe") end }`,
		"shadow.lua": `local real = gw
local gw = { request = { get_header = function() return "mine" end } }
return { on_request = function() real.request.set_header("X-Local", gw.request.get_header("X-Probe")) end }`,
	}
	for name, line := range variants {
		files[name] = fmt.Sprintf(directProbe, line)
	}
	dir := writeScripts(t, files)
	up := echoUpstream(t)
	var routes strings.Builder
	for _, name := range []string{"direct.lua", "as_written.lua", "shadow.lua"} {
		fmt.Fprintf(&routes, "[[routes]]\npaths = [\"/%s\"]\nupstream = \"up\"\n  [[routes.plugins]]\n  script = %q\n",
			name, filepath.Join(dir, name))
	}
	g, _ := startGateway(t, fmt.Sprintf(`
[lua]
dir = %q
timeout = "5s"
[[upstreams]]
name = "up"
targets = [{ url = %q }]
%s`, dir, up.URL, routes.String()))

	want := map[string]string{
		"Same":     "true",
		"Seen":     "probe",
		"Missing":  "nil,userdata",
		"Module":   "probe",
		"Err":      "", // checked below: the same in both variants
		"Call-Err": "",
	}
	got := map[string]map[string]string{}
	for name := range variants {
		st, body, resp := gatewaytest.Do(t, "GET", g.URL+"/"+name, nil, "X-Probe", "probe")
		if st != 200 {
			t.Fatalf("%s: got %d %s", name, st, body)
		}
		got[name] = map[string]string{}
		for h, w := range want {
			v := string(resp.Header.Peek("Got-X-" + h))
			got[name][h] = v
			if w != "" && v != w {
				t.Errorf("%s: %s = %q, want %q", name, h, v, w)
			}
		}
	}
	for h := range want {
		// The same but for the script's name.
		a, b := got["direct.lua"][h], got["as_written.lua"][h]
		if strings.ReplaceAll(a, "direct.lua", "as_written.lua") != b {
			t.Errorf("%s differs: read directly %q, through the views %q", h, a, b)
		}
	}
	if e := got["direct.lua"]["Err"]; !strings.Contains(e, "set_header") || !strings.Contains(e, "CR, LF or NUL") {
		t.Errorf("Err = %q, want the bad argument of set_header", e)
	}
	st, body, resp := gatewaytest.Do(t, "GET", g.URL+"/shadow.lua", nil, "X-Probe", "probe")
	if st != 200 || string(resp.Header.Peek("Got-X-Local")) != "mine" {
		t.Errorf("shadow: got %d %s, X-Local = %q, want the local gw's \"mine\"", st, body, resp.Header.Peek("Got-X-Local"))
	}
}
