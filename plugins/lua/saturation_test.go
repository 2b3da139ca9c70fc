//go:build !race

package lua_test

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/plugins/lua"
	"github.com/valyala/fasthttp"
)

// TestTrivialScriptsUnderSaturation: on a machine with every CPU busy, a
// route with two trivial scripts (the default lua settings) answers every
// request; a wall-clock deadline of 10 ms failed some of them ("timed
// out after 10ms") because their goroutine waited for a CPU, not because
// they did any work. Meanwhile an infinite loop and a backtracking
// pattern on other routes are still stopped, as timeouts (by the
// instruction budget, TestInstructionBudget shows it alone).
//
// The load is bounded: with GOMAXPROCS raised to 4×NumCPU, 2×GOMAXPROCS
// goroutines spin for at most 3 s, while 64 clients send at most 1200
// requests (for 3 s, at least 2 each), and 4 runaway requests go to each
// bad route.
//
// Not built with -race: the race detector makes every step 5-10× slower,
// and on a loaded 2-core CI machine a trivial call then did reach the 1 s
// wall-clock backstop (it failed `make test`'s race pass a few times). The
// plain pass runs it.
func TestTrivialScriptsUnderSaturation(t *testing.T) {
	dir := writeScripts(t, map[string]string{
		"first.lua": `return {
  on_request = function() gw.request.set_header("X-First", gw.request.get_header("X-N") or "-") end,
  on_response = function() gw.response.set_header("X-First", "yes") end,
}`,
		"second.lua": `return {
  on_request = function() gw.ctx.set("n", gw.request.get_header("X-N")) end,
  on_response = function() gw.response.set_header("X-Second", gw.ctx.get("n") or "-") end,
}`,
		"loop.lua": `return { on_request = function() while true do end end }`,
		"bomb.lua": `return { on_request = function()
  local body = gw.request.get_body()
  if body:find(string.rep("a*", 20) .. "b") then gw.request.set_header("X-Found", "yes") end
end }`,
	})
	up := echoUpstream(t)
	g, logs := startGateway(t, fmt.Sprintf(`
[[upstreams]]
name = "up"
targets = [{ url = %q }]
[[routes]]
name = "trivial"
paths = ["/trivial"]
upstream = "up"
  [[routes.plugins]]
  script = %q
  [[routes.plugins]]
  script = %q
[[routes]]
name = "loop"
paths = ["/loop"]
upstream = "up"
  [[routes.plugins]]
  script = %q
[[routes]]
name = "bomb"
paths = ["/bomb"]
upstream = "up"
  [[routes.plugins]]
  script = %q
`, up.URL, filepath.Join(dir, "first.lua"), filepath.Join(dir, "second.lua"),
		filepath.Join(dir, "loop.lua"), filepath.Join(dir, "bomb.lua")))

	// More runnable threads than CPUs, as with a load generator and an
	// upstream on the gateway's machine: the kernel then pauses a thread
	// in the middle of a script call for milliseconds.
	procs := 4 * runtime.NumCPU()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	stop := make(chan struct{})
	var spinners sync.WaitGroup
	spinUntil := time.Now().Add(3 * time.Second)
	for i := 0; i < 2*runtime.GOMAXPROCS(0); i++ {
		spinners.Add(1)
		go func() {
			defer spinners.Done()
			for n := 0; ; n++ {
				if n%1024 == 0 {
					select {
					case <-stop:
						return
					default:
					}
					if time.Now().After(spinUntil) {
						return
					}
				}
			}
		}()
	}
	defer func() { close(stop); spinners.Wait() }()

	client := gatewaytest.Client()
	client.MaxConnsPerHost = 128
	do := func(path string, body []byte, n string) (int, string, error) {
		req := fasthttp.AcquireRequest()
		resp := fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI(g.URL + path)
		req.Header.Set("X-N", n)
		if body != nil {
			req.Header.SetMethod("POST")
			req.SetBody(body)
		}
		err := client.DoTimeout(req, resp, 10*time.Second)
		return resp.StatusCode(), string(resp.Header.Peek("X-Second")), err
	}

	const clients, total = 64, 1200
	var sent, failed atomic.Int64
	var wg sync.WaitGroup
	failures := make(chan string, total)
	loadUntil := time.Now().Add(3 * time.Second)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each client sends at least 2 requests, however slow the
			// machine (a -race build), then goes on until the time is up.
			for j := 0; j < 2 || time.Now().Before(loadUntil); j++ {
				i := sent.Add(1)
				if i > total {
					return
				}
				n := fmt.Sprint(i)
				st, second, err := do("/trivial", nil, n)
				if err != nil || st != 200 || second != n {
					failed.Add(1)
					failures <- fmt.Sprintf("request %s: status %d, X-Second %q, error %v", n, st, second, err)
				}
			}
		}()
	}
	// The runaway requests, during the load.
	type runaway struct {
		path string
		body []byte
		st   int
		err  error
	}
	var bad []*runaway
	for i := 0; i < 4; i++ {
		bad = append(bad, &runaway{path: "/loop"}, &runaway{path: "/bomb", body: []byte(strings.Repeat("a", 10*1024))})
	}
	for i, r := range bad {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.st, _, r.err = do(r.path, r.body, fmt.Sprint("bad-", i))
		}()
	}
	wg.Wait()
	close(failures)

	served := min(sent.Load(), total)
	t.Logf("%d requests to the trivial route under saturation, %d failed", served, failed.Load())
	for f := range failures {
		t.Error(f)
	}
	for _, s := range lua.Snapshot() {
		if s.Script == filepath.Join(dir, "first.lua") || s.Script == filepath.Join(dir, "second.lua") {
			if s.Errors != 0 || s.Timeouts != 0 {
				t.Errorf("%s: errors = %d, timeouts = %d, want 0", filepath.Base(s.Script), s.Errors, s.Timeouts)
			}
		}
	}
	if failed.Load() > 0 {
		t.Logf("log lines of the failures:\n%s", firstLines(logs.String(), "step failed", 5))
	}

	for _, r := range bad {
		if r.err != nil || r.st != 500 {
			t.Errorf("%s: got %d (%v), want 500", r.path, r.st, r.err)
		}
	}
	for _, name := range []string{"loop.lua", "bomb.lua"} {
		for _, s := range lua.Snapshot() {
			if s.Script == filepath.Join(dir, name) && s.Timeouts != 4 {
				t.Errorf("%s: timeouts = %d, want 4", name, s.Timeouts)
			}
		}
	}
	// Stopped as timeouts: by the instruction budget, or (in a -race
	// build on a saturated machine, where a million instructions take
	// seconds) by the 1 s deadline.
	for _, want := range []string{"loop.lua:1: timeout: the script ran past its ",
		"bomb.lua:3: string.find: timeout: the script ran past its "} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no log line with %q in:\n%s", want, firstLines(logs.String(), "step failed", 10))
		}
	}
}

// firstLines returns the first n lines of logs that contain s.
func firstLines(logs, s string, n int) string {
	var out []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, s) && len(out) < n {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
