package cache_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/valyala/fasthttp"
)

// purge calls the admin API's purge endpoint with a JSON body.
func purge(t *testing.T, g *gatewaytest.Gateway, body string) {
	t.Helper()
	status, resp, _ := gatewaytest.Do(t, "POST", g.AdminURL+"/cache/purge", []byte(body), "Content-Type", "application/json")
	if status != 200 {
		t.Fatalf("purge %s: %d %s", body, status, resp)
	}
}

// tagged answers with a counter and tags: /a/* carry "a", /b/* carry "b",
// everything carries "all-items".
func tagged() fasthttp.RequestHandler {
	h, _ := counter("Cache-Control", "max-age=60")
	return func(ctx *fasthttp.RequestCtx) {
		tags := "all-items"
		if p := string(ctx.Path()); strings.HasPrefix(p, "/a/") {
			tags += " a"
		} else if strings.HasPrefix(p, "/b/") {
			tags += ", b"
		}
		ctx.Response.Header.Set("Surrogate-Key", tags)
		h(ctx)
	}
}

func TestPurge(t *testing.T) {
	for _, tc := range []struct {
		name    string
		body    string
		dropped []string // paths that must miss after the purge
		kept    []string // paths that must still hit
	}{
		{"url drops every variant", `{"url": "/a/1?ignored=1"}`, []string{"/a/1", "/a/1?q=2"}, []string{"/a/2", "/a/1/x", "/b/1"}},
		{"url with scheme and host", `{"url": "http://api.example.com/a/1"}`, []string{"/a/1", "/a/1?q=2"}, []string{"/a/2"}},
		{"prefix", `{"prefix": "/a/"}`, []string{"/a/1", "/a/1?q=2", "/a/2", "/a/1/x"}, []string{"/b/1", "/ab"}},
		{"prefix without slash", `{"prefix": "/a/1"}`, []string{"/a/1", "/a/1/x"}, []string{"/a/2", "/b/1"}},
		{"tag", `{"tag": "a"}`, []string{"/a/1", "/a/2", "/a/1?q=2"}, []string{"/b/1", "/ab"}},
		{"tags", `{"tags": ["a", "b"]}`, []string{"/a/1", "/b/1"}, []string{"/ab"}},
		{"route", `{"route": "r"}`, []string{"/a/1", "/b/1", "/ab"}, nil},
		{"all", `{"all": true}`, []string{"/a/1", "/b/1", "/ab"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, up := setup(t, tagged(), "")
			paths := []string{"/a/1", "/a/1?q=2", "/a/2", "/a/1/x", "/b/1", "/ab"}
			for _, p := range paths {
				get(t, g, "GET", p)
			}
			for _, p := range paths {
				if _, _, cs, _ := get(t, g, "GET", p); cs != "HIT" {
					t.Fatalf("%s not cached before the purge: %s", p, cs)
				}
			}
			before := up.Hits()
			purge(t, g, tc.body)
			for _, p := range tc.dropped {
				if _, _, cs, _ := get(t, g, "GET", p); cs != "MISS" {
					t.Errorf("%s after purge %s: %s, want MISS", p, tc.body, cs)
				}
			}
			for _, p := range tc.kept {
				if _, _, cs, _ := get(t, g, "GET", p); cs != "HIT" {
					t.Errorf("%s after purge %s: %s, want HIT", p, tc.body, cs)
				}
			}
			if got := up.Hits() - before; got != int64(len(tc.dropped)) {
				t.Errorf("upstream hits after purge = %d, want %d", got, len(tc.dropped))
			}
			// What is fetched again after a purge is cached again.
			for _, p := range tc.dropped {
				if _, _, cs, _ := get(t, g, "GET", p); cs != "HIT" {
					t.Errorf("%s fetched after the purge is not cached again: %s", p, cs)
				}
			}
		})
	}
}

func TestPurgeAdminAPI(t *testing.T) {
	g, _ := setup(t, tagged(), "")
	get(t, g, "GET", "/a/1")
	status, body, _ := gatewaytest.Do(t, "POST", g.AdminURL+"/cache/purge?prefix=/a/", nil)
	if status != 200 || !strings.Contains(string(body), "prefix /a/") {
		t.Fatalf("query purge: %d %s", status, body)
	}
	expect(t, g, "/a/1", "MISS", 200, "")
	status, _, _ = gatewaytest.Do(t, "POST", g.AdminURL+"/cache/purge", []byte(`{"route": "nope"}`), "Content-Type", "application/json")
	if status != 404 {
		t.Errorf("purge of an unknown route: %d, want 404", status)
	}
	for _, bad := range []string{`{}`, `{"url": 1}`, `{"nope": true}`, `not json`} {
		status, body, _ := gatewaytest.Do(t, "POST", g.AdminURL+"/cache/purge", []byte(bad), "Content-Type", "application/json")
		if status != 400 {
			t.Errorf("purge %s: %d %s, want 400", bad, status, body)
		}
	}
	status, body, _ = gatewaytest.Do(t, "GET", g.AdminURL+"/cache/stats", nil)
	if status != 200 || !strings.Contains(string(body), `"hit"`) || !strings.Contains(string(body), `"max_bytes"`) {
		t.Fatalf("stats: %d %s", status, body)
	}
	// The tag header is not shown to clients by default.
	if _, _, _, resp := get(t, g, "GET", "/a/1"); len(resp.Header.Peek("Surrogate-Key")) != 0 {
		t.Errorf("Surrogate-Key shown to the client: %q", resp.Header.Peek("Surrogate-Key"))
	}
}

func TestPurgeMethod(t *testing.T) {
	up := gatewaytest.StartUpstream(t, tagged())
	g := gatewaytest.Start(t, fmt.Sprintf(`
[[upstreams]]
name = "up"
targets = [{ url = %q }]
[[routes]]
name = "open"
paths = ["/"]
upstream = "up"
  [[routes.plugins]]
  name = "test-consumer"
  [[routes.plugins]]
  name = "cache"
  [routes.plugins.config]
  purge = { ips = ["127.0.0.0/8"] }
[[routes]]
name = "closed"
paths = ["/b/"]
upstream = "up"
  [[routes.plugins]]
  name = "test-consumer"
  [[routes.plugins]]
  name = "cache"
  [routes.plugins.config]
  purge = { ips = ["10.0.0.0/8"], consumers = ["ops"] }
`, up.URL))
	expect(t, g, "/a/1", "MISS", 200, "")
	expect(t, g, "/a/1", "HIT", 200, "")
	status, body, _ := gatewaytest.Do(t, "PURGE", g.URL+"/a/1", nil)
	if status != 200 {
		t.Fatalf("PURGE from an allowed address: %d %s", status, body)
	}
	expect(t, g, "/a/1", "MISS", 200, "")

	expect(t, g, "/b/1", "MISS", 200, "")
	status, _, _ = gatewaytest.Do(t, "PURGE", g.URL+"/b/1", nil)
	if status != http.StatusForbidden {
		t.Fatalf("PURGE from a refused address: %d, want 403", status)
	}
	expect(t, g, "/b/1", "HIT", 200, "")
	status, _, _ = gatewaytest.Do(t, "PURGE", g.URL+"/b/1", nil, "X-Test-Consumer", "mallory")
	if status != http.StatusForbidden {
		t.Fatalf("PURGE by a refused consumer: %d, want 403", status)
	}
	status, _, _ = gatewaytest.Do(t, "PURGE", g.URL+"/b/1", nil, "X-Test-Consumer", "ops")
	if status != 200 {
		t.Fatalf("PURGE by an allowed consumer: %d", status)
	}
	expect(t, g, "/b/1", "MISS", 200, "")
	if up.Hits() != 4 {
		t.Fatalf("upstream hits = %d, want 4 (PURGE never goes upstream)", up.Hits())
	}
}

// With case_insensitive_paths the gateway lower-cases request paths before
// the cache sees them: an admin purge written in another case must find
// the same entries.
func TestPurgeWithCaseInsensitivePaths(t *testing.T) {
	up := gatewaytest.StartUpstream(t, tagged())
	g := gatewaytest.Start(t, fmt.Sprintf(`[server]
listen = "127.0.0.1:0"
case_insensitive_paths = true
[[upstreams]]
name = "up"
targets = [{ url = %q }]
[[routes]]
name = "r"
paths = ["/"]
upstream = "up"
  [[routes.plugins]]
  name = "cache"
`, up.URL))
	expect(t, g, "/Items/1", "MISS", 200, "")
	expect(t, g, "/items/1", "HIT", 200, "")
	for _, purge := range []string{`{"url": "/ITEMS/1"}`, `{"prefix": "/Items/"}`} {
		if st, body, _ := gatewaytest.Do(t, "POST", g.AdminURL+"/cache/purge", []byte(purge), "Content-Type", "application/json"); st != 200 {
			t.Fatalf("purge %s: %d %s", purge, st, body)
		}
		expect(t, g, "/items/1", "MISS", 200, "")
		expect(t, g, "/items/1", "HIT", 200, "")
	}
}
