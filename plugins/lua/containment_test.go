package lua_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/plugins/lua"
)

// procStatus returns a field of /proc/self/status in bytes (VmRSS,
// VmHWM).
func procStatus(t *testing.T, field string) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if ok && name == field {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("%s: %v", field, err)
			}
			return kb << 10
		}
	}
	t.Skipf("no %s in /proc/self/status", field)
	return 0
}

// The memory bombs: each builds far more than lua.max_memory (about 128
// MB on a gateway without the bound: bounded here so that a run on such
// a gateway does not take the machine down). A request without X-Bomb
// runs the same script harmlessly.
var memoryBombs = []struct{ name, src string }{
	{"concat doubling", `local s = "x" for i = 1, 27 do s = s .. s end`},
	{"string.rep in a loop", `local t = {} for i = 1, 64 do t[i] = string.rep("x", 2 * 1024 * 1024) end`},
	{"table.concat in a loop", `local t, r = {}, {}
  local s = string.rep("x", 1024 * 1024)
  for i = 1, 12 do t[i] = s end
  for i = 1, 12 do r[i] = table.concat(t) end`},
	// The client sends the bomb: 900 KB of JSON that decodes into about
	// 130 MB of tables.
	{"json.decode of the client's body", `local v = gw.json.decode(gw.request.get_body())`},
}

// TestLuaMemoryBombs: a script that builds strings or tables without
// end (the `s = s .. s` doubling took RSS to 275 MB within the default
// 10 ms deadline) fails its request with 500 once the call has built
// lua.max_memory, whatever its deadline; the gateway's peak RSS grows by
// no more than max_memory and a slack for the garbage collector; the
// next request on the same route and on other routes are served.
func TestLuaMemoryBombs(t *testing.T) {
	files := map[string]string{"ok.lua": `return { on_request = function() gw.request.set_header("X-Ok", "yes") end }`}
	var routes strings.Builder
	for i, b := range memoryBombs {
		files[fmt.Sprintf("bomb%d.lua", i)] = `return { on_request = function()
  if gw.request.get_header("X-Bomb") then
  ` + b.src + `
  end
  gw.request.set_header("X-Ok", "yes")
end }`
	}
	dir := writeScripts(t, files)
	for i := range memoryBombs {
		fmt.Fprintf(&routes, "[[routes]]\nname = \"bomb%d\"\npaths = [\"/bomb%d\"]\nupstream = \"up\"\n  [[routes.plugins]]\n  script = %q\n",
			i, i, filepath.Join(dir, fmt.Sprintf("bomb%d.lua", i)))
	}
	up := echoUpstream(t)
	const maxMemory = 16 << 20
	g, logs := startGateway(t, fmt.Sprintf(`
[lua]
max_memory = "16MB"
timeout = "5s"   # the budget stops the bombs, not the deadline
[[upstreams]]
name = "up"
targets = [{ url = %q }]
[[routes]]
name = "ok"
paths = ["/ok"]
upstream = "up"
  [[routes.plugins]]
  script = %q
%s`, up.URL, filepath.Join(dir, "ok.lua"), routes.String()))

	served := func(t *testing.T, path string) {
		t.Helper()
		st, body, resp := gatewaytest.Do(t, "GET", g.URL+path, nil)
		if st != 200 || string(resp.Header.Peek("Got-X-Ok")) != "yes" {
			t.Errorf("GET %s: got %d %s, X-Ok %q; want 200 and yes", path, st, body, resp.Header.Peek("Got-X-Ok"))
		}
	}
	for i := range memoryBombs {
		served(t, fmt.Sprintf("/bomb%d", i)) // every state is created and warm
	}
	body := []byte("[" + strings.Repeat(`{"a":{}},`, 100000) + "{}]")

	runtime.GC()
	debug.FreeOSMemory()
	// Reset the peak RSS (VmHWM) to the current RSS (Linux 4.0+).
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Skipf("cannot reset the peak RSS: %v", err)
	}
	before := procStatus(t, "VmRSS")
	for i, b := range memoryBombs {
		t.Run(b.name, func(t *testing.T) {
			path := fmt.Sprintf("/bomb%d", i)
			st, resp, _ := gatewaytest.Do(t, "POST", g.URL+path, body, "X-Bomb", "1")
			if st != 500 {
				t.Errorf("bomb: got %d %s, want 500", st, resp)
			}
			served(t, path)
			served(t, "/ok")
		})
	}
	growth := procStatus(t, "VmHWM") - before
	t.Logf("peak RSS growth during the bombs: %.1f MB (lua.max_memory %d MB)", float64(growth)/(1<<20), maxMemory>>20)
	// The slack covers the garbage collector's headroom (a heap may grow
	// to twice its live size before a collection) and the gateway's own
	// buffers (the 900 KB bodies); without the bound the growth is
	// hundreds of MB. The race detector shadows every allocation: there
	// RSS says nothing.
	const slack = 64 << 20
	if growth > maxMemory+slack && !raceEnabled {
		t.Errorf("peak RSS grew by %.1f MB; want at most lua.max_memory (16 MB) + %d MB", float64(growth)/(1<<20), slack>>20)
	}

	if !strings.Contains(logs.String(), "memory limit exceeded (lua.max_memory = 16MB)") {
		t.Errorf("no log of the memory limit:\n%s", logs.String())
	}
	for i, b := range memoryBombs {
		script := filepath.Join(dir, fmt.Sprintf("bomb%d.lua", i))
		for _, s := range lua.Snapshot() {
			if s.Script == script && (s.MemoryErrors != 1 || s.Errors != 1) {
				t.Errorf("%s: memory_errors = %d, errors = %d; want 1 and 1", b.name, s.MemoryErrors, s.Errors)
			}
		}
	}
}

// isolationProbe reports, in request headers the upstream echoes, what a
// request sees of the shared environment. Requests with X-Attack run
// one attack first (each in its own request).
const isolationProbe = `
local attacks = {
  poison = function() string.upper = nil; gw.json = nil; x = 1 end,
  gw_json = function() gw.json = nil end,
  global = function() x = 1; _G.y = 2; rawset(_G, "z", 3) end,
  rawset = function() rawset(string, "upper", function() return "pwned" end) end,
  rawset_gw = function() rawset(gw.request, "get_header", function() return "pwned" end) end,
  setmetatable = function() setmetatable(string, { __index = function() return "pwned" end }) end,
  string_meta = function() getmetatable("").__index.upper = function() return "pwned" end end,
  string_meta_index = function() getmetatable("").__index = { upper = function() return "pwned" end } end,
  number_meta = function() setmetatable(0, { __index = function() return "pwned" end }) end,
  table_insert = function() table.insert(string, "pwned") end,
  nested = function() gw.json.encode = function() return "pwned" end end,
  conf = function(conf) conf.flag = "pwned" end,
  conf_nested = function(conf) conf.list[1] = "pwned" end,
  array_marker = function() getmetatable(gw.json.array()).__index = function() return "pwned" end end,
  json_array = function() gw.json.array(gw) end,
  pcall_swallow = function() pcall(function() string.upper = nil end); x = 1 end,
  env_insert = function() table.insert(_G, "pwned") end,
  env_array = function() gw.json.array(_G); x = 1 end,
  gw_global = function() gw = { request = { get_header = function() return "pwned" end } } end,
  gw_env = function() _G.gw = nil end,
  gw_rawset_env = function() rawset(_G, "gw", {}) end,
  direct_field = function() gw.request.get_header = function() return "pwned" end end,
  direct_funcdef = function() function gw.request.get_header() return "pwned" end end,
}
local seen = {}
return {
  on_request = function(conf)
    local attack = gw.request.get_header("X-Attack")
    if attack then
      local ok, err = pcall(attacks[attack], conf)
      gw.request.set_header("X-Attack-Error", tostring(err))
      if not ok then error(err, 0) end
      return
    end
    local function put(name, v) gw.request.set_header("X-" .. name, tostring(v)) end
    put("Upper", type(string.upper) == "function" and ("abc"):upper())
    put("Json", type(gw.json) == "table" and gw.json.encode({ 1 }))
    put("Get-Header", gw.request.get_header("X-Probe"))
    put("Globals", tostring(x) .. "," .. tostring(y) .. "," .. tostring(z))
    put("Index", tostring(string.nope) .. "," .. tostring(("s").nope))
    put("Number-Index", select(2, pcall(function() return (0).nope end)) ~= "pwned")
    put("Insert", #string)
    put("Conf", conf.flag .. "," .. conf.list[1])
    put("Array", tostring(gw.json.array().nope) .. "," .. gw.json.encode(gw.json.array()))
    put("Gw-Meta", type(getmetatable(gw)))
    put("Env", tostring(_G[1]) .. "," .. tostring(getmetatable(_G)))
  end,
}`

// TestLuaRequestIsolation: a request cannot change what the next request
// on the same Lua state sees. Each attack is one request, written as a
// script would try it (assignment, rawset, setmetatable, the string
// metatable, the step's conf, gw.json's array marker, ...), on a route
// of its own (a script of its own, so a pool of its own); the requests
// after it, on the same route and so the same state, see the pristine
// libraries, gw, conf and no global it set.
func TestLuaRequestIsolation(t *testing.T) {
	attacks := []struct {
		name   string
		status int    // 500: the attempt raised an error; 200: it was allowed, and dropped
		err    string // the error (500: in the log) or what pcall returned (200)
	}{
		{"poison", 500, "attempt to modify read-only table 'string' (key 'upper')"},
		{"gw_json", 500, "attempt to modify read-only table 'gw' (key 'json')"},
		{"global", 200, "nil"},
		{"rawset", 500, "attempt to modify read-only table 'string'"},
		{"rawset_gw", 500, "attempt to modify read-only table 'gw.request'"},
		{"setmetatable", 500, "cannot change a protected metatable"},
		{"string_meta", 500, "attempt to index a non-table object(boolean)"},
		{"string_meta_index", 500, "attempt to index a non-table object(boolean)"},
		{"number_meta", 500, "bad argument #1 to setmetatable (table expected, got number)"},
		{"table_insert", 500, "attempt to modify read-only table 'string'"},
		{"nested", 500, "attempt to modify read-only table 'gw.json' (key 'encode')"},
		{"conf", 500, "attempt to modify read-only table 'conf' (key 'flag')"},
		{"conf_nested", 500, "attempt to modify read-only table 'conf.list' (key '1')"},
		{"array_marker", 500, "attempt to modify read-only table 'gw.json array marker' (key '__index')"},
		{"json_array", 500, "attempt to modify read-only table 'gw'"},
		{"pcall_swallow", 200, "nil"},
		{"env_insert", 200, "nil"},
		{"env_array", 500, "cannot change a protected metatable"},
		// The global gw cannot be replaced, even for one call: the
		// compiler reads gw.<namespace>.<function> directly (direct.go).
		{"gw_global", 500, "attempt to modify read-only global 'gw'"},
		{"gw_env", 500, "attempt to modify read-only global 'gw'"},
		{"gw_rawset_env", 500, "attempt to modify read-only global 'gw'"},
		// Writes of the form the compiler reads directly still go through
		// the views.
		{"direct_field", 500, "attempt to modify read-only table 'gw.request' (key 'get_header')"},
		{"direct_funcdef", 500, "attempt to modify read-only table 'gw.request' (key 'get_header')"},
	}
	files := map[string]string{}
	var routes strings.Builder
	for _, a := range attacks {
		files[a.name+".lua"] = isolationProbe
	}
	dir := writeScripts(t, files)
	up := echoUpstream(t)
	for _, a := range attacks {
		fmt.Fprintf(&routes, `[[routes]]
name = %[1]q
paths = ["/%[1]s"]
upstream = "up"
  [[routes.plugins]]
  script = %[2]q
  [routes.plugins.config]
  flag = "ok"
  list = ["first"]
`, a.name, filepath.Join(dir, a.name+".lua"))
	}
	g, logs := startGateway(t, fmt.Sprintf(`
[lua]
timeout = "5s"
[[upstreams]]
name = "up"
targets = [{ url = %q }]
%s`, up.URL, routes.String()))

	want := map[string]string{
		"Upper":        "ABC",
		"Json":         "[1]",
		"Get-Header":   "probe",
		"Globals":      "nil,nil,nil",
		"Index":        "nil,nil",
		"Number-Index": "true",
		"Insert":       "0",
		"Conf":         "ok,first",
		"Array":        "nil,[]",
		"Gw-Meta":      "boolean",
		"Env":          "nil,false",
	}
	probe := func(t *testing.T, path, after string) {
		t.Helper()
		// Several requests: sequential requests reuse the route's pooled state.
		for i := 0; i < 5; i++ {
			st, body, resp := gatewaytest.Do(t, "GET", g.URL+path, nil, "X-Probe", "probe")
			if st != 200 {
				t.Fatalf("after %s: probe %d: got %d %s", after, i, st, body)
			}
			for name, w := range want {
				if got := string(resp.Header.Peek("Got-X-" + name)); got != w {
					t.Errorf("after %s: probe %d: %s = %q, want %q", after, i, name, got, w)
				}
			}
		}
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			path := "/" + a.name
			probe(t, path, "nothing")
			st, body, resp := gatewaytest.Do(t, "GET", g.URL+path, nil, "X-Attack", a.name)
			if st != a.status || a.status == 500 && !bytes.Contains(body, []byte("internal error")) {
				t.Errorf("attack: got %d %s, want %d", st, body, a.status)
			}
			if a.status == 200 && string(resp.Header.Peek("Got-X-Attack-Error")) != a.err {
				t.Errorf("attack: pcall returned %q, want %q", resp.Header.Peek("Got-X-Attack-Error"), a.err)
			}
			if a.status == 500 && !strings.Contains(logs.String(), a.err) {
				t.Errorf("attack: no error %q in the log:\n%s", a.err, logs.String())
			}
			probe(t, path, a.name)
		})
	}
}

// TestSandboxSemantics: what the sandbox rewrites and wraps behaves as
// plain Lua 5.1 does: `..` (compiled as a charged call) with numbers,
// metamethods, calls and `...` as operands, in every position; the
// read-only libraries, gw and conf through pairs, ipairs, #, unpack,
// table.concat, rawget and gw.json.encode; globals set while loading
// (in the script or a module it requires) stay, globals set by a call
// are gone at the next.
func TestSandboxSemantics(t *testing.T) {
	dir := writeScripts(t, map[string]string{
		"lib/m.lua": `local M = {}
loaded_at_load = (loaded_at_load or 0) + 1
function M.bang(s) per_call = (per_call or 0) + 1 return s .. "!" .. per_call end
return M`,
		"s.lua": `local m = require("lib.m")
helper = function(a, b) return a .. "-" .. b end
local mt = { __concat = function(a, b)
  return (type(a) == "table" and "T" or a) .. "+" .. (type(b) == "table" and "T" or b)
end }
local obj = setmetatable({}, mt)
local function two() return "a", "b" end
local function va(...) return "<" .. ... .. ">", select("#", ...) end
local checks = {
  { "x" .. 1 .. 2.5 .. -3, "x12.5-3" },
  { 1 .. 2, "12" },
  { ("a" .. "b") .. ("c" .. "d"), "abcd" },
  { "p" .. two(), "pa" },
  { select("#", "p" .. two()), 1 },
  { va("x", "y"), "<x>" },
  { obj .. "s", "T+s" },
  { "s" .. obj, "s+T" },
  { "a" .. "b" .. obj, "ab+T" }, -- "a" .. ("b" .. obj), as the VM does
  { obj .. "a" .. "b", "T+ab" },
  { helper("l", "r"), "l-r" },
  { m.bang("hi"), "hi!1" },
  { loaded_at_load, 1 },
  { ({ ["k" .. 1] = "v" .. 1 }).k1, "v1" },
  { #string.rep("ab", 3) .. "", "6" },
  { (function() return "r" .. "s" end)(), "rs" },
}
return { on_request = function(conf)
  local out = {}
  for i, c in ipairs(checks) do
    if c[1] ~= c[2] then out[#out + 1] = "check " .. i .. ": got " .. tostring(c[1]) .. ", want " .. tostring(c[2]) end
  end
  local function want(got, w, what)
    if got ~= w then out[#out + 1] = what .. ": got " .. tostring(got) .. ", want " .. tostring(w) end
  end
  -- per_call is 1 from loading (m.bang("hi") above), 2 within every call.
  want(m.bang("again"), "again!2", "a module's global set by a call")
  local n = 0
  for k, v in pairs(string) do n = n + 1 end
  want(n > 10, true, "pairs(string)")
  want(rawget(string, "upper"), string.upper, "rawget(string)")
  want(next(gw) ~= nil, true, "next(gw)")
  want(#conf.list, 3, "#conf.list")
  want(table.concat(conf.list, ","), "a,b,c", "table.concat(conf.list)")
  want(select("#", unpack(conf.list)), 3, "unpack(conf.list)")
  local seen = {}
  for i, v in ipairs(conf.list) do seen[#seen + 1] = i .. v end
  want(table.concat(seen, " "), "1a 2b 3c", "ipairs(conf.list)")
  want(gw.json.encode(conf), '{"list":["a","b","c"],"name":"n"}', "gw.json.encode(conf)")
  want(type(_G), "table", "_G")
  want(_G.string, string, "_G.string")
  want(rawget(_G, "helper"), helper, "rawget(_G) of a load-time global")
  want(mine, nil, "a global of the previous call")
  mine = "set"
  _G.mine2 = "set"
  want(mine2, "set", "a global set through _G")
  gw.request.set_header("X-Problems", #out == 0 and "none" or table.concat(out, "; "))
end }`,
	})
	h, err := lua.NewHarness(filepath.Join(dir, "s.lua"), lua.HarnessOptions{Conf: map[string]any{"name": "n", "list": []any{"a", "b", "c"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for i := 0; i < 3; i++ {
		res, err := h.Run(lua.Request{})
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, hd := range res.RequestHeaders {
			if strings.EqualFold(hd.Name, "X-Problems") {
				got = hd.Value
			}
		}
		if res.Error != "" || got != "none" {
			t.Errorf("run %d: error %q, problems: %s", i, res.Error, got)
		}
	}
}
