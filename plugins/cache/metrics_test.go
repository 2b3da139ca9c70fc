package cache_test

import (
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/core/plugin/plugintest"
)

// TestMetricsCountByStatus: the cache step counts each request under
// its X-Cache-Status, for its route, through the plugin contract's
// metrics (moongate_cache_requests_total{route,status}).
func TestMetricsCountByStatus(t *testing.T) {
	ch := plugintest.New(t, `
[[routes]]
name = "reports"
  [[routes.plugins]]
  name = "cache"
`)
	ch.SetUpstream(plugintest.Reply{Header: []string{"Cache-Control", "max-age=60"}, Body: "report"})
	for i, want := range []string{"MISS", "HIT", "HIT"} {
		res := ch.Do(plugintest.Request{URL: "/r"})
		if got := res.Response.Header.Peek("X-Cache-Status"); string(got) != want {
			t.Fatalf("request %d: X-Cache-Status %q, want %s", i+1, got, want)
		}
	}
	ch.Do(plugintest.Request{URL: "/r", Header: []string{"Cache-Control", "no-store"}})
	for series, want := range map[string]float64{
		`moongate_cache_requests_total{route="reports",status="miss"}`:   1,
		`moongate_cache_requests_total{route="reports",status="hit"}`:    2,
		`moongate_cache_requests_total{route="reports",status="bypass"}`: 1,
	} {
		if got, ok := ch.Metric(series); !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v\n%s", series, got, ok, want, ch.Metrics())
		}
	}
	if _, ok := ch.Metric(`moongate_cache_requests_total{route="reports",status="stale"}`); ok {
		t.Errorf("a status never seen has a series:\n%s", ch.Metrics())
	}
}

// TestMetricsEndToEndGlobalCache: a global cache step counts for each
// route it serves, as /metrics shows it.
func TestMetricsEndToEndGlobalCache(t *testing.T) {
	h, _ := counter("Cache-Control", "max-age=60")
	up := gatewaytest.StartUpstream(t, h)
	g := gatewaytest.Start(t, `
[[plugins]]
name = "cache"

[[upstreams]]
name = "up"
targets = [{ url = "`+up.URL+`" }]

[[routes]]
name = "a"
paths = ["/a/"]
upstream = "up"

[[routes]]
name = "b"
paths = ["/b/"]
upstream = "up"
`)
	expect(t, g, "/a/x", "MISS", 200, "")
	expect(t, g, "/a/x", "HIT", 200, "")
	expect(t, g, "/b/x", "MISS", 200, "")
	s := gatewaytest.Scrape(t, g.AdminURL)
	for _, c := range []struct {
		route, status string
		want          float64
	}{{"a", "miss", 1}, {"a", "hit", 1}, {"b", "miss", 1}, {"b", "hit", 0}} {
		if got, _ := s.Value("moongate_cache_requests_total", "route", c.route, "status", c.status); got != c.want {
			t.Errorf("route %s, %s: %v, want %v\n%s", c.route, c.status, got, c.want, s.String("moongate_cache_requests_total"))
		}
	}
	if v, ok := s.Value("moongate_cache_entries"); !ok || v < 1 {
		t.Errorf("moongate_cache_entries = %v (present %v)", v, ok)
	}
}
