package gateway_test

import (
	"testing"

	_ "github.com/moongate/moongate/plugins/ratelimit"
)

// localRateLimit is a global local rate limit per client IP that never
// refuses, as in bench-compare's features scenario.
const localRateLimit = `
[[plugins]]
name = "rate-limit"
[plugins.config]
limits = [{ requests = 1000000000, per = "1m" }]
key = "ip"
`

// BenchmarkMockFeatures is the cost of the default request-path features
// (metrics, a JSON access log to a file, a local rate limit), alone and
// together, without the upstream round trip, whose noise on loopback
// hides them: bare has them all off. Run it with -cpu 1 to count the log
// worker's and the writer's CPU too.
func BenchmarkMockFeatures(b *testing.B) {
	b.Run("bare", func(b *testing.B) { serveLoop(b, benchGateway(b, metricsOff+mockChain)) })
	b.Run("metrics", func(b *testing.B) { serveLoop(b, benchGateway(b, mockChain)) })
	b.Run("accesslog", func(b *testing.B) { serveLoop(b, benchGateway(b, metricsOff+accessLogChain(b, "json")+mockChain)) })
	b.Run("ratelimit", func(b *testing.B) { serveLoop(b, benchGateway(b, metricsOff+localRateLimit+mockChain)) })
	b.Run("all", func(b *testing.B) {
		serveLoop(b, benchGateway(b, accessLogChain(b, "json")+localRateLimit+mockChain))
	})
}
