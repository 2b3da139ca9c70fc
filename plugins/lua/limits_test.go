package lua_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/plugins/lua"
)

// TestStateSizeLimit: a script that keeps data across requests in a
// global is stopped by max_state_size: its state is thrown away (the
// leak with it) and requests keep being served.
func TestStateSizeLimit(t *testing.T) {
	defer lua.SetSizeCheckEvery(1)()
	dir := writeScripts(t, map[string]string{"leak.lua": `
leak = leak or {}
return { on_request = function()
  leak[#leak + 1] = string.rep("x", 256 * 1024)
  gw.request.set_header("X-Kept", tostring(#leak))
end }`})
	up := echoUpstream(t)
	script := filepath.Join(dir, "leak.lua")
	g, logs := startGateway(t, fmt.Sprintf(`
[lua]
max_state_size = "1MB"
timeout = "5s"
[[upstreams]]
name = "up"
targets = [{ url = %q }]
[[routes]]
paths = ["/"]
upstream = "up"
  [[routes.plugins]]
  script = %q
`, up.URL, script))
	maxKept := 0
	for i := 0; i < 60; i++ {
		st, body, resp := gatewaytest.Do(t, "GET", g.URL+"/", nil)
		if st != 200 {
			t.Fatalf("request %d: got %d %s", i, st, body)
		}
		var n int
		fmt.Sscan(string(resp.Header.Peek("Got-X-Kept")), &n)
		maxKept = max(maxKept, n)
	}
	// 1MB holds at most 4 strings of 256KB: a state never keeps more than
	// that before it is measured and dropped.
	if maxKept > 5 {
		t.Errorf("a state kept %d strings of 256KB; want it dropped past 1MB", maxKept)
	}
	if !strings.Contains(logs.String(), "lua state discarded") {
		t.Errorf("no log of the discarded state:\n%s", logs.String())
	}
	for _, s := range lua.Snapshot() {
		if s.Script == script && s.Discarded == 0 {
			t.Errorf("states_discarded = 0")
		}
	}
}

// TestConcurrentRequests sends requests from many goroutines through one
// script step (run it with -race): each response carries what its own
// request sent, so no state served two requests at once.
func TestConcurrentRequests(t *testing.T) {
	dir := writeScripts(t, map[string]string{"echo.lua": `
local M = {}
function M.on_request()
  local v = gw.request.get_header("X-N")
  gw.ctx.set("n", v)
  gw.request.set_header("X-Echo", v)
end
function M.on_response()
  gw.response.set_header("X-Back", gw.ctx.get("n"))
end
return M`})
	up := echoUpstream(t)
	g := gatewaytest.Start(t, fmt.Sprintf(`
[lua]
timeout = "1s"
[[upstreams]]
name = "up"
targets = [{ url = %q }]
[[routes]]
paths = ["/"]
upstream = "up"
  [[routes.plugins]]
  script = %q
`, up.URL, filepath.Join(dir, "echo.lua")))
	var wg sync.WaitGroup
	errs := make(chan string, 400)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				n := fmt.Sprintf("%d-%d", w, i)
				st, _, resp := gatewaytest.Do(t, "GET", g.URL+"/", nil, "X-N", n)
				if st != 200 || string(resp.Header.Peek("Got-X-Echo")) != n || string(resp.Header.Peek("X-Back")) != n {
					errs <- fmt.Sprintf("%s: got %d, echo %q, back %q", n, st, resp.Header.Peek("Got-X-Echo"), resp.Header.Peek("X-Back"))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
