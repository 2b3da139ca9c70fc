package lua_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/core/cli"
	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/plugins/lua"
)

// TestInstructionBudget: the instruction budget alone stops runaway
// calls (the steps' deadline is 30 s, so a request answered before the
// client gives up after 10 s was stopped by the budget): an infinite
// loop, one inside pcall, a backtracking pattern. The count is
// deterministic: a loop under a step's max_instructions passes every
// time, the same loop a little longer fails every time.
func TestInstructionBudget(t *testing.T) {
	dir := writeScripts(t, map[string]string{
		"loop.lua":  `return { on_request = function() while true do end end }`,
		"pcall.lua": `return { on_request = function() while true do pcall(function() while true do end end) end end }`,
		"bomb.lua": `return { on_request = function()
  if gw.request.get_body():find(string.rep("a*", 20) .. "b") then gw.request.set_header("X-Found", "yes") end
end }`,
		// n iterations of a numeric for loop: 2 instructions each.
		"count.lua": `return { on_request = function()
  local n = tonumber(gw.request.get_header("X-N"))
  local x = 0
  for i = 1, n do x = x + 1 end
  gw.request.set_header("X-Count", tostring(x))
end }`,
	})
	up := echoUpstream(t)
	route := func(name, extra string) string {
		return fmt.Sprintf("[[routes]]\nname = %q\npaths = [\"/%s\"]\nupstream = \"up\"\n  [[routes.plugins]]\n  script = %q\n  timeout = \"30s\"\n%s",
			name, name, filepath.Join(dir, name+".lua"), extra)
	}
	g, logs := startGateway(t, fmt.Sprintf("[[upstreams]]\nname = \"up\"\ntargets = [{ url = %q }]\n%s%s%s%s", up.URL,
		route("loop", ""), route("pcall", ""), route("bomb", ""), route("count", "  max_instructions = 10000\n")))

	for _, tc := range []struct{ path, body, want string }{
		{"/loop", "", "loop.lua:1: timeout: the script ran past its instruction budget (on_request ran past max_instructions = 1000000)"},
		{"/pcall", "", "pcall.lua:1: timeout: the script ran past its instruction budget"},
		{"/bomb", strings.Repeat("a", 10*1024), "bomb.lua:2: string.find: timeout: the script ran past its instruction budget"},
	} {
		st, body, _ := gatewaytest.Do(t, "POST", g.URL+tc.path, []byte(tc.body))
		if st != 500 {
			t.Errorf("%s: got %d %s, want 500", tc.path, st, body)
		}
		if !strings.Contains(logs.String(), tc.want) {
			t.Errorf("%s: no log line with %q in:\n%s", tc.path, tc.want, logs.String())
		}
	}
	// 4 000 iterations (about 8 000 instructions) fit in 10 000; 6 000
	// (about 12 000) do not, every time.
	for i := 0; i < 20; i++ {
		if st, _, resp := gatewaytest.Do(t, "GET", g.URL+"/count", nil, "X-N", "4000"); st != 200 || string(resp.Header.Peek("Got-X-Count")) != "4000" {
			t.Fatalf("try %d, 4000 iterations: got %d, X-Count %q; want 200, 4000", i, st, resp.Header.Peek("Got-X-Count"))
		}
		if st, _, _ := gatewaytest.Do(t, "GET", g.URL+"/count", nil, "X-N", "6000"); st != 500 {
			t.Fatalf("try %d, 6000 iterations: got %d, want 500", i, st)
		}
	}
	for _, s := range lua.Snapshot() {
		if s.Script == filepath.Join(dir, "count.lua") && (s.Timeouts != 20 || s.Errors != 20) {
			t.Errorf("count.lua: timeouts = %d, errors = %d; want 20 each", s.Timeouts, s.Errors)
		}
	}
}

// TestValidateInstructionBudget: lua.max_instructions and a step's
// max_instructions are checked like the other keys.
func TestValidateInstructionBudget(t *testing.T) {
	code, out := validate(t, `[lua]
max_instructions = 10
[[routes]]
paths = ["/"]
  [[routes.plugins]]
  script = "x.lua"
  max_instructions = -1
  [[routes.plugins]]
  name = "request-id"
  max_instructions = 5000
`)
	for _, want := range []string{"moongate.toml:2: lua.max_instructions: must be at least 1000, got 10",
		"moongate.toml:7: routes[0].plugins[0].max_instructions: must be at least 1000, got -1",
		"moongate.toml:10: routes[0].plugins[1].max_instructions: only applies to script steps"} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("got exit %d:\n%s\nwant %q", code, out, want)
		}
	}
}

// TestHarnessInstructionBudget: `script test` and `script run` run
// scripts under the same budget as the gateway, deterministic there
// too, and gwtest.load's max_instructions changes it.
func TestHarnessInstructionBudget(t *testing.T) {
	dir := writeScripts(t, map[string]string{"loop.lua": `return { on_request = function()
  local n, x = tonumber(gw.request.get_header("X-N")), 0
  for i = 1, n do x = x + 1 end -- 2 instructions an iteration
end }`,
		"loop_test.lua": `local s = gwtest.load("loop.lua", nil, { max_instructions = 2000 })
gwtest.test("900 iterations fit", function() gwtest.eq(s:run{ headers = { ["X-N"] = "900" } }.status, 200) end)
gwtest.test("1100 do not", function()
  local r = s:run{ headers = { ["X-N"] = "1100" } }
  gwtest.eq(r.status, 500)
  gwtest.contains(r.error, "instruction budget")
end)
`})
	file := filepath.Join(dir, "loop.lua")
	for _, tc := range []struct {
		budget int64
		n      string
		fails  bool
	}{
		{0, "400000", false}, // the default, 1 000 000
		{0, "600000", true},
		{2000, "900", false},
		{2000, "1100", true},
	} {
		// The wall-clock deadline is far away: only the instruction
		// budget may stop the loop, however slow the machine (-race).
		h, err := lua.NewHarness(file, lua.HarnessOptions{MaxInstructions: tc.budget, Timeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		r, err := h.Run(lua.Request{Method: "GET", Path: "/", Headers: []lua.Header{{Name: "X-N", Value: tc.n}}})
		h.Close()
		if err != nil {
			t.Fatal(err)
		}
		failed := strings.Contains(r.Error, "timeout: the script ran past its instruction budget")
		if failed != tc.fails || (r.Status == 500) != tc.fails {
			t.Errorf("budget %d, %s iterations: got status %d, error %q; want failure %v", tc.budget, tc.n, r.Status, r.Error, tc.fails)
		}
	}

	var stdout, stderr bytes.Buffer
	if code := cli.Main([]string{"script", "test", dir}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "2 passed, 0 failed") {
		t.Errorf("script test: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	code := cli.Main([]string{"script", "run", file, "-H", "X-N: 1100", "--max-instructions", "2000"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stdout.String(), "instruction budget") {
		t.Errorf("script run --max-instructions 2000: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
}
