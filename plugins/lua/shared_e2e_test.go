package lua_test

import (
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
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
