package config

import "testing"

// TestMetricsDefaults: metrics are on unless [metrics] enabled = false.
func TestMetricsDefaults(t *testing.T) {
	cfg, ps := parse(t, "")
	if ps != nil || !cfg.Metrics.Enabled {
		t.Fatalf("metrics.enabled = %v (%v), want true", cfg.Metrics.Enabled, ps)
	}
	cfg, ps = parse(t, "[metrics]\nenabled = false\n")
	if ps != nil || cfg.Metrics.Enabled {
		t.Fatalf("metrics.enabled = %v (%v), want false", cfg.Metrics.Enabled, ps)
	}
	_, ps = parse(t, "[metrics]\nenable = false\n")
	wantProblem(t, ps, 2, "metrics.enable", "unknown key")
}

// TestStepMetricsChecks: the counters a script step declares have
// Prometheus names ending in _total and label names; other steps have
// none.
func TestStepMetricsChecks(t *testing.T) {
	cfg, ps := parse(t, `[[routes]]
paths = ["/"]
[[routes.plugins]]
script = "x.lua"
metrics = { tenant_requests_total = ["tenant", "plan"], hits_total = [] }
`)
	if ps != nil {
		t.Fatal(ps)
	}
	if got := cfg.Routes[0].Plugins[0].Metrics["tenant_requests_total"]; len(got) != 2 || got[1] != "plan" {
		t.Errorf("metrics = %v", cfg.Routes[0].Plugins[0].Metrics)
	}
	_, ps = parse(t, `[[routes]]
paths = ["/"]
[[routes.plugins]]
script = "x.lua"
metrics = { "Tenant-Requests" = [], hits = [], ok_total = ["script", "9x", "a", "a", "__x"] }
[[routes.plugins]]
name = "cors"
metrics = { hits_total = [] }
`)
	wantProblem(t, ps, 5, "routes[0].plugins[0].metrics.Tenant-Requests", "ending in _total")
	wantProblem(t, ps, 5, "routes[0].plugins[0].metrics.hits", "ending in _total")
	wantProblem(t, ps, 5, "routes[0].plugins[0].metrics.ok_total[0]", `"script" is reserved`)
	wantProblem(t, ps, 5, "routes[0].plugins[0].metrics.ok_total[1]", "not starting with a digit")
	wantProblem(t, ps, 5, "routes[0].plugins[0].metrics.ok_total[3]", "listed twice")
	wantProblem(t, ps, 5, "routes[0].plugins[0].metrics.ok_total[4]", "not starting with a digit or __")
	wantProblem(t, ps, 8, "routes[0].plugins[1].metrics", "only applies to script steps")
}
