package lua_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/gateway"
	"github.com/moongate/moongate/core/gateway/gatewaytest"
)

// syncBuffer is a log sink safe for the gateway's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startGateway starts a real gateway on toml with its log captured.
func startGateway(t *testing.T, toml string) (*gatewaytest.Gateway, *syncBuffer) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "moongate.toml")
	if err := os.WriteFile(file, []byte(gatewaytest.WithTestListeners(toml)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatalf("config:\n%v", err)
	}
	logs := &syncBuffer{}
	g, err := gateway.New(cfg, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatalf("build:\n%v", err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Shutdown(t.Context()) })
	return &gatewaytest.Gateway{Gateway: g, File: file, URL: "http://" + g.Addrs()[0], AdminURL: "http://" + g.AdminAddr()}, logs
}

// The sandbox cases: each script misbehaves in its own way; its request
// gets the status below, and the well-behaved route keeps working.
var sandboxCases = []struct {
	name    string
	src     string
	step    string // extra keys of the step
	status  int
	logHas  string // in the error log line, after the script path
	timeout bool
}{
	{name: "infinite loop", src: "return { on_request = function() while true do end end }",
		step: `timeout = "20ms"`, status: 500, logHas: ":1: timeout: the script ran past its", timeout: true},
	{name: "infinite loop inside pcall", src: "return { on_request = function() while true do pcall(function() while true do end end) end end }",
		step: `timeout = "20ms"`, status: 500, logHas: "timeout", timeout: true},
	{name: "string.rep memory bomb", src: `return { on_request = function() local s = string.rep("x", 4 * 1024 * 1024 * 1024) end }`,
		step: `timeout = "5s"`, status: 500, logHas: ":1: string.rep: result would exceed max_string_size"},
	{name: "string.rep in a loop of concatenations", src: `return { on_request = function()
  local s, chunk = "", string.rep("x", 1024 * 1024)
  while true do s = s .. chunk end
end }`, step: `timeout = "5s"`, status: 500, logHas: ":3: memory limit exceeded (lua.max_memory = 32MB)"},
	{name: "endless table growth", src: "return { on_request = function() local t = {} while true do t[#t + 1] = { 1, 2, 3 } end end }",
		step: `timeout = "20ms"`, status: 500, logHas: "timeout", timeout: true},
	{name: "table.concat memory bomb", src: `return { on_request = function()
  local t, s = {}, string.rep("x", 1024 * 1024)
  for i = 1, 100 do t[i] = s end
  return table.concat(t)
end }`, step: `timeout = "5s"`, status: 500, logHas: ":4: table.concat: result would exceed max_string_size"},
	{name: "gsub memory bomb", src: `return { on_request = function()
  local s = string.rep("x", 1024 * 1024)
  return (s:gsub("x", s))
end }`, step: `timeout = "5s"`, status: 500, logHas: ":3: string.gsub: result would exceed max_string_size"},
	{name: "format width bomb", src: `return { on_request = function() return string.format("%999999999d", 1) end }`,
		status: 500, logHas: "invalid format (width or precision too long)"},
	{name: "deep recursion", src: "local function f(n) return 1 + f(n + 1) end return { on_request = function() f(1) end }",
		status: 500, logHas: "stack overflow"},
	{name: "os.execute", src: `return { on_request = function() os.execute("touch /tmp/moongate-pwned") end }`,
		status: 500, logHas: ":1: attempt to index a non-table object(nil) with key 'execute'"},
	{name: "io.open", src: `return { on_request = function() io.open("/etc/passwd") end }`,
		status: 500, logHas: "attempt to index a non-table object(nil) with key 'open'"},
	{name: "load of bytecode", src: `return { on_request = function() load("\27Lua\81\0\1\4\8\4\8\0")() end }`,
		status: 500, logHas: "attempt to call a non-function object"},
	{name: "loadstring", src: `return { on_request = function() loadstring("return 1")() end }`,
		status: 500, logHas: "attempt to call a non-function object"},
	{name: "string.dump", src: `return { on_request = function() string.dump(function() end) end }`,
		status: 500, logHas: "attempt to call a non-function object"},
	{name: "require outside the scripts folder", src: `return { on_request = function() require("../../etc/passwd") end }`,
		status: 500, logHas: "module names are dotted identifiers"},
	{name: "dofile", src: `return { on_request = function() dofile("/etc/passwd") end }`,
		status: 500, logHas: "attempt to call a non-function object"},
	{name: "error in on_request", src: `return { on_request = function() error("boom") end }`,
		status: 500, logHas: ":1: boom"},
	{name: "error in on_response", src: "return {\n on_response = function() local x = nil; return x.y end }",
		status: 500, logHas: ":2: attempt to index a non-table object(nil) with key 'y'"},
	{name: "error in on_log", src: "return {\n on_log = function()\n error('late') end }",
		status: 200, logHas: ":3: late"},
	{name: "error with on_error = continue", src: `return { on_request = function() error("skipped") end }`,
		step: `on_error = "continue"`, status: 200, logHas: ":1: skipped"},
	{name: "phase misuse", src: `return { on_request = function() gw.response.set_status(201) end }`,
		status: 500, logHas: ":1: gw.response.set_status: not allowed in the request phase (allowed: response)"},
}

func TestSandbox(t *testing.T) {
	files := map[string]string{
		"ok.lua": `return { on_request = function() gw.request.set_header("X-Ok", gw.request.get_header("X-In") or "none") end }`,
	}
	var routes strings.Builder
	for i, tc := range sandboxCases {
		files[fmt.Sprintf("bad%d.lua", i)] = tc.src
	}
	dir := writeScripts(t, files)
	up := echoUpstream(t)
	for i, tc := range sandboxCases {
		fmt.Fprintf(&routes, "[[routes]]\nname = \"bad%d\"\npaths = [\"/bad%d\"]\nupstream = \"up\"\n  [[routes.plugins]]\n  script = %q\n  %s\n",
			i, i, filepath.Join(dir, fmt.Sprintf("bad%d.lua", i)), tc.step)
	}
	g, logs := startGateway(t, fmt.Sprintf(`
[lua]
dir = %q
timeout = "5s"  # cases about deadlines set their own; the others must not depend on speed
[[plugins]]
name = "request-id"
[[upstreams]]
name = "up"
targets = [{ url = %q }]
[[routes]]
name = "ok"
paths = ["/ok"]
upstream = "up"
  [[routes.plugins]]
  script = %q
%s`, dir, up.URL, filepath.Join(dir, "ok.lua"), routes.String()))

	okStill := func(t *testing.T) {
		t.Helper()
		st, _, resp := gatewaytest.Do(t, "GET", g.URL+"/ok", nil, "X-In", "fine")
		if st != 200 || string(resp.Header.Peek("Got-X-Ok")) != "fine" {
			t.Fatalf("well-behaved route: got %d, X-Ok %q; want 200, \"fine\"", st, resp.Header.Peek("Got-X-Ok"))
		}
	}
	for i, tc := range sandboxCases {
		t.Run(tc.name, func(t *testing.T) {
			script := filepath.Join(dir, fmt.Sprintf("bad%d.lua", i))
			// Twice: a state that failed (or was discarded) must not break the next request.
			for try := 1; try <= 2; try++ {
				id := fmt.Sprintf("req-%d-%d", i, try)
				st, body, _ := gatewaytest.Do(t, "GET", g.URL+fmt.Sprintf("/bad%d", i), nil, "X-Request-Id", id)
				if st != tc.status {
					t.Fatalf("try %d: got status %d (%s), want %d", try, st, body, tc.status)
				}
				if st == 500 && !strings.Contains(string(body), `"request_id":"`+id+`"`) {
					t.Errorf("try %d: 500 body lacks the request id: %s", try, body)
				}
				// The client learns nothing of the gateway's files.
				if st == 500 && (!strings.HasPrefix(string(body), `{"error":"internal error","status":500,`) ||
					strings.Contains(string(body), ".lua") || strings.Contains(string(body), dir)) {
					t.Errorf("try %d: 500 body %s, want {\"error\":\"internal error\",...} naming no file", try, body)
				}
				okStill(t)
				// The log line names the route, script:line and the request id.
				want := script + ":"
				route := fmt.Sprintf("route=bad%d ", i)
				deadline := time.Now().Add(5 * time.Second)
				for {
					line := logLine(logs.String(), "request_id="+id)
					if strings.Contains(line, want) && strings.Contains(line, tc.logHas) && strings.Contains(line, route) {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("try %d: no log line with request_id=%s, %s, %s and %q in:\n%s", try, id, route, want, tc.logHas, logs.String())
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
		})
	}
	if _, err := os.Stat("/tmp/moongate-pwned"); err == nil {
		t.Error("os.execute ran")
	}

	// GET /scripts counts the errors and timeouts per script.
	st, body, _ := gatewaytest.Do(t, "GET", g.AdminURL+"/scripts", nil)
	if st != 200 {
		t.Fatalf("GET /scripts: %d %s", st, body)
	}
	var stats []struct {
		Script    string `json:"script"`
		Errors    uint64 `json:"errors"`
		Timeouts  uint64 `json:"timeouts"`
		Discarded uint64 `json:"states_discarded"`
	}
	if err := json.Unmarshal(body, &stats); err != nil {
		t.Fatal(err)
	}
	byScript := map[string]int{}
	for i, s := range stats {
		byScript[s.Script] = i
	}
	for i, tc := range sandboxCases {
		j, ok := byScript[filepath.Join(dir, fmt.Sprintf("bad%d.lua", i))]
		if !ok {
			t.Errorf("%s: not in GET /scripts", tc.name)
			continue
		}
		s := stats[j]
		if s.Errors < 2 {
			t.Errorf("%s: errors = %d, want at least 2", tc.name, s.Errors)
		}
		if tc.timeout && (s.Timeouts < 2 || s.Discarded < 2) {
			t.Errorf("%s: timeouts = %d, discarded = %d; want at least 2 each", tc.name, s.Timeouts, s.Discarded)
		}
		if !tc.timeout && s.Timeouts != 0 {
			t.Errorf("%s: timeouts = %d, want 0", tc.name, s.Timeouts)
		}
	}
}

// logLine returns the log line containing s, or "".
func logLine(logs, s string) string {
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, s) && strings.Contains(l, "step failed") {
			return l
		}
	}
	return ""
}
