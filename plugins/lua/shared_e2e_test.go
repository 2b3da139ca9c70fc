package lua_test

import (
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/core/redistest"
)

// TestSharedCountsEveryRequestAndOutlivesReload: a script counting its
// requests with gw.shared.incr counts every one of 200 concurrent
// requests (each call may run on another Lua state; gw.cache's get and
// set would lose some), and the count survives a reload.
func TestSharedCountsEveryRequestAndOutlivesReload(t *testing.T) {
	dir := writeScripts(t, map[string]string{"count.lua": `
return { on_request = function()
  local n = gw.shared.incr("hits", 1)
  return gw.response.exit(200, tostring(n))
end }`})
	conf := `
[[routes]]
paths = ["/"]
  [[routes.plugins]]
  script = "` + filepath.Join(dir, "count.lua") + `"
`
	g := gatewaytest.Start(t, conf)
	var wg sync.WaitGroup
	seen := make([]bool, 201)
	var mu sync.Mutex
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				status, body, _ := gatewaytest.Do(t, "GET", g.URL+"/", nil)
				n, err := strconv.Atoi(string(body))
				if status != 200 || err != nil || n < 1 || n > 200 {
					t.Errorf("got %d %q", status, body)
					return
				}
				mu.Lock()
				if seen[n] {
					t.Errorf("count %d given twice", n)
				}
				seen[n] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if r := g.Reload(); len(r.Errors) > 0 {
		t.Fatalf("reload: %v", r.Errors)
	}
	if _, body, _ := gatewaytest.Do(t, "GET", g.URL+"/", nil); string(body) != "201" {
		t.Errorf("after 200 requests and a reload: %q, want 201", body)
	}
}

// TestRedisSlowLeavesTheScriptToDecide: Redis stops answering (paused);
// a gw.redis call returns nil and "timeout" shortly before the step's
// deadline, and the script answers the request itself (503) instead of
// being stopped by the deadline (500).
func TestRedisSlowLeavesTheScriptToDecide(t *testing.T) {
	rd := redistest.Start(t)
	dir := writeScripts(t, map[string]string{"flag.lua": `
return { on_request = function()
  local v, err = gw.redis.get("flag")
  if err then return gw.response.exit(503, "redis: " .. err) end
  return gw.response.exit(200, v or "none")
end }`})
	g := gatewaytest.Start(t, `
[redis]
addresses = ["`+rd.Addr+`"]

[[routes]]
paths = ["/"]
  [[routes.plugins]]
  script = "`+filepath.Join(dir, "flag.lua")+`"
  timeout = "500ms"
`)
	if status, body, _ := gatewaytest.Do(t, "GET", g.URL+"/", nil); status != 200 || string(body) != "none" {
		t.Fatalf("Redis up: %d %q", status, body)
	}
	rd.Pause()
	defer rd.Resume()
	if status, body, _ := gatewaytest.Do(t, "GET", g.URL+"/", nil); status != 503 || string(body) != "redis: timeout" {
		t.Errorf("Redis paused: %d %q, want 503 \"redis: timeout\" from the script", status, body)
	}
}
