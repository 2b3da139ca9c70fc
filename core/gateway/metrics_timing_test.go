package gateway_test

import "testing"

// metricsOff turns the metrics off, for the baselines beside the
// benchmarks with metrics (the default).
const metricsOff = `
[metrics]
enabled = false
`

const mockChain = `
[[plugins]]
name = "mock"
[plugins.config]
body = "hello"
`

// BenchmarkMetrics compares the request path with metrics (the default)
// and without: the plain proxy to a loopback upstream, and a chain that
// answers itself (the gateway's own cost, without the round trip).
//
//	go test -run '^$' -bench BenchmarkMetrics -benchmem -count 6 ./core/gateway
func BenchmarkMetrics(b *testing.B) {
	b.Run("proxy/on", func(b *testing.B) { serveLoop(b, benchGateway(b, "")) })
	b.Run("proxy/off", func(b *testing.B) { serveLoop(b, benchGateway(b, metricsOff)) })
	b.Run("mock/on", func(b *testing.B) { serveLoop(b, benchGateway(b, mockChain)) })
	b.Run("mock/off", func(b *testing.B) { serveLoop(b, benchGateway(b, metricsOff+mockChain)) })
}

// TestMetricsOffDoesNotAllocate: without metrics, the proxy path still
// allocates nothing (the guard with metrics is
// TestProxyPathDoesNotAllocate).
func TestMetricsOffDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	g := benchGateway(t, metricsOff+typicalChain)
	req, fc := benchRequest()
	if n := testing.AllocsPerRun(500, func() { serveOnce(t, g, req, fc) }); n != 0 {
		t.Errorf("%v allocations per request, want 0", n)
	}
}
