package lua_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
)

// TestPatternBombsStopAtDeadline is the attack of a client who knows a
// script runs a backtracking pattern on the request body: 10 KB crafted
// so that the match would take seconds (the trim idiom) or centuries
// (nested stars). Each request fails as a timeout of its step, raised
// from inside the pattern function, the upstream never sees it, and the
// next request on another route is served.
func TestPatternBombsStopAtDeadline(t *testing.T) {
	dir := writeScripts(t, map[string]string{
		"trim.lua": `return { on_request = function()
  local body = gw.request.get_body()
  local trimmed = body:match("^%s*(.-)%s*$")
  gw.request.set_header("X-Trimmed", tostring(#trimmed))
end }`,
		"stars.lua": `return { on_request = function()
  local body = gw.request.get_body()
  if string.find(body, string.rep("a*", 20) .. "b") then
    gw.request.set_header("X-Found", "yes")
  end
end }`,
		"ok.lua": `return { on_request = function() gw.request.set_header("X-Ok", "yes") end }`,
	})
	up := echoUpstream(t)
	route := func(name string) string {
		return fmt.Sprintf(`[[routes]]
name = %q
paths = ["/%s"]
upstream = "up"
  [[routes.plugins]]
  script = %q
  timeout = "50ms"
`, name, name, filepath.Join(dir, name+".lua"))
	}
	g, logs := startGateway(t, fmt.Sprintf(`
[[plugins]]
name = "request-id"
[[upstreams]]
name = "up"
targets = [{ url = %q }]
%s%s%s`, up.URL, route("trim"), route("stars"), route("ok")))

	for _, tc := range []struct {
		route, fn string
		body      string
	}{
		{"trim", "string.match", "a" + strings.Repeat(" ", 10*1024-2) + "a"},
		{"stars", "string.find", strings.Repeat("a", 10*1024)},
	} {
		t.Run(tc.route, func(t *testing.T) {
			hits := up.Hits()
			id := "bomb-" + tc.route
			start := time.Now()
			st, body, _ := gatewaytest.Do(t, "POST", g.URL+"/"+tc.route, []byte(tc.body), "X-Request-Id", id)
			t.Logf("%s: answered %d after %v (step timeout 50ms)", tc.route, st, time.Since(start).Round(time.Millisecond))
			if st != 500 {
				t.Fatalf("got %d %s, want 500", st, body)
			}
			if up.Hits() != hits {
				t.Errorf("the upstream got the request")
			}
			// The step failed as a timeout raised inside the search (the
			// instruction budget, which the search charges, or the deadline).
			want := tc.fn + ": timeout: the script ran past its"
			deadline := time.Now().Add(5 * time.Second)
			for line := ""; !strings.Contains(line, want); line = logLine(logs.String(), "request_id="+id) {
				if time.Now().After(deadline) {
					t.Fatalf("no log line for %s with %q in:\n%s", id, want, logs.String())
				}
				time.Sleep(10 * time.Millisecond)
			}
			st, _, resp := gatewaytest.Do(t, "GET", g.URL+"/ok", nil)
			if st != 200 || string(resp.Header.Peek("Got-X-Ok")) != "yes" {
				t.Fatalf("next request on /ok: got %d, X-Ok %q; want 200, yes", st, resp.Header.Peek("Got-X-Ok"))
			}
		})
	}

	st, body, _ := gatewaytest.Do(t, "GET", g.AdminURL+"/scripts", nil)
	if st != 200 {
		t.Fatalf("GET /scripts: %d %s", st, body)
	}
	var stats []struct {
		Script   string `json:"script"`
		Timeouts uint64 `json:"timeouts"`
	}
	if err := json.Unmarshal(body, &stats); err != nil {
		t.Fatal(err)
	}
	for _, s := range stats {
		if (strings.HasSuffix(s.Script, "trim.lua") || strings.HasSuffix(s.Script, "stars.lua")) && s.Timeouts != 1 {
			t.Errorf("%s: timeouts = %d, want 1", s.Script, s.Timeouts)
		}
	}
}
