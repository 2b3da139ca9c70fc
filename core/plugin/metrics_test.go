package plugin_test

import (
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
)

// tiers counts the requests it sees: per route, per plan tier (a header
// whose values a step cannot bound, hence CounterVec), and their sizes.
type tiers struct {
	seen  *plugin.RouteCounter
	tier  *plugin.CounterVec
	size  *plugin.Histogram
	last  *plugin.Gauge
	total *plugin.Counter
}

func init() {
	plugin.Register("test-metrics", func(spec plugin.Spec) (any, error) {
		m := spec.Metrics()
		name := "moongate_test_requests_total"
		if spec.Step.OnError == "continue" { // a way for the test to ask for a bad name
			name = "bad name"
		}
		return &tiers{
			seen:  m.RouteCounter(name, "plugin", spec.Name),
			tier:  m.CounterVec("moongate_test_tier_requests_total", 2, []string{"plugin", spec.Name}, "tier"),
			size:  m.Histogram("moongate_test_body_bytes", []float64{10, 100}, "plugin", spec.Name),
			last:  m.Gauge("moongate_test_last_body_bytes", "plugin", spec.Name),
			total: m.Counter("moongate_test_all_total"),
		}, nil
	})
}

func (p *tiers) OnRequest(c *plugin.Context) error {
	p.seen.Inc(c)
	p.tier.Inc(string(c.Request.Header.Peek("X-Tier")))
	n := len(c.Request.Body())
	p.size.Observe(float64(n))
	p.last.Set(float64(n))
	p.total.Inc()
	return nil
}

// TestStepMetrics: a plugin registers its metrics through Spec.Metrics
// and counts per request; plugintest shows what it counted, by series,
// as GET /metrics would. A CounterVec keeps at most its bound of series
// and counts the rest as "other".
func TestStepMetrics(t *testing.T) {
	ch := plugintest.New(t, `
[[routes]]
name = "shop"
  [[routes.plugins]]
  name = "test-metrics"
`)
	for _, tier := range []string{"gold", "gold", "free", "bronze", "silver", strings.Repeat("x", 200)} {
		ch.Do(plugintest.Request{Header: []string{"X-Tier", tier}, Body: "12345678901234"})
	}
	for series, want := range map[string]float64{
		`moongate_test_requests_total{route="shop",plugin="test-metrics"}`:      6,
		`moongate_test_tier_requests_total{plugin="test-metrics",tier="gold"}`:  2,
		`moongate_test_tier_requests_total{plugin="test-metrics",tier="free"}`:  1,
		`moongate_test_tier_requests_total{plugin="test-metrics",tier="other"}`: 3,
		`moongate_test_body_bytes_bucket{plugin="test-metrics",le="10"}`:        0,
		`moongate_test_body_bytes_bucket{plugin="test-metrics",le="100"}`:       6,
		`moongate_test_body_bytes_count{plugin="test-metrics"}`:                 6,
		`moongate_test_last_body_bytes{plugin="test-metrics"}`:                  14,
		`moongate_test_all_total`: 6,
	} {
		if got, ok := ch.Metric(series); !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v\n%s", series, got, ok, want, ch.Metrics())
		}
	}
}

// TestStepMetricsBadName: a metric with a bad name fails the step's
// build with a problem at the step, as `moongate validate` shows it; so
// does a name of the gateway's own series.
func TestStepMetricsBadName(t *testing.T) {
	_, err := plugintest.Build(`
[[plugins]]
name = "test-metrics"
on_error = "continue"
`)
	if err == nil || !strings.Contains(err.Error(), `test.toml:2: plugins[0]: plugin "test-metrics": metric name "bad name" is not a valid Prometheus name`) {
		t.Errorf("bad name: %v", err)
	}
	plugin.Register("test-metrics-reserved", func(spec plugin.Spec) (any, error) {
		spec.Metrics().Counter("moongate_http_requests_total")
		return &tiers{}, nil
	})
	_, err = plugintest.Build("[[plugins]]\nname = \"test-metrics-reserved\"\n")
	if err == nil || !strings.Contains(err.Error(), `metric "moongate_http_requests_total" is the gateway's own`) {
		t.Errorf("reserved name: %v", err)
	}
}

// TestStepMetricsNil: without metrics (a plugin built by hand, metrics
// off), every metric is nil and counts nothing, without panicking.
func TestStepMetricsNil(t *testing.T) {
	m := plugin.Spec{}.Metrics()
	m.Counter("moongate_x_total").Inc()
	m.RouteCounter("moongate_x_total").Inc(nil)
	m.CounterVec("moongate_y_total", 1, nil, "a").Inc("v")
	m.Gauge("moongate_g").Set(1)
	m.Histogram("moongate_h_seconds", []float64{1}).ObserveDuration(time.Second)
	if v := m.Counter("moongate_x_total").Value(); v != 0 {
		t.Errorf("nil counter: %d", v)
	}
}
