package ratelimit

import (
	"strings"
	"testing"
)

// TestRefusalsOnMetrics: the refusals of a step show on /metrics,
// labelled with its route and key path.
func TestRefusalsOnMetrics(t *testing.T) {
	ch, _ := mustChain(t, `
  [[routes.plugins]]
  name = "rate-limit"
  [routes.plugins.config]
  limits = [{ requests = 1, per = "1h" }]
  key = "ip"
`)
	for i := 0; i < 3; i++ {
		serve(t, ch, "192.0.2.1:1000", nil)
	}
	series := `moongate_ratelimit_refused_total{route="api",step="routes[0].plugins[0]"}`
	if v, ok := ch.Metric(series); !ok || v != 2 {
		t.Fatalf("%s = %v (%v), want 2\n%s", series, v, ok, ch.Metrics())
	}
	if strings.Contains(ch.Metrics(), "moongate_ratelimit_redis") {
		t.Errorf("a local step shows Redis series:\n%s", ch.Metrics())
	}
}
