package gateway_test

import (
	"path/filepath"
	"testing"

	_ "github.com/moongate/moongate/plugins/accesslog"
)

// accessLogChain is a global access-log step writing format to a file
// of the test's.
func accessLogChain(tb testing.TB, format string) string {
	return `
[[plugins]]
name = "access-log"
[plugins.config]
output = "` + filepath.Join(tb.TempDir(), "access.log") + `"
format = "` + format + `"
`
}

// BenchmarkProxyAccessLog is BenchmarkProxyEmptyChain with an access log
// to a file: the side-by-side ratio of the access log's cost on the
// proxy path (the chain captures the log: the line is formatted on the
// request's goroutine once its write ended, and written in batches by the
// writer's goroutine).
func BenchmarkProxyAccessLog(b *testing.B) {
	for _, format := range []string{"json", "combined"} {
		b.Run(format, func(b *testing.B) { serveLoop(b, benchGateway(b, accessLogChain(b, format))) })
	}
}

// TestAccessLogDoesNotAllocate: a JSON access log adds no allocation to
// the proxy path, its log phase included, in steady state.
func TestAccessLogDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	g := benchGateway(t, typicalChain+accessLogChain(t, "json"))
	req, fc := benchRequest("Referer", "https://example.com/?page=1", "Traceparent",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	// Every batch the writer cycles through, every pooled buffer, is
	// made now.
	for range 5000 {
		serveOnce(t, g, req, fc)
	}
	if n := testing.AllocsPerRun(1000, func() { serveOnce(t, g, req, fc) }); n != 0 {
		t.Errorf("%v allocations per request, want 0", n)
	}
}

// BenchmarkMockAccessLog is BenchmarkMock with a JSON access log to a
// file: the access log's cost without the upstream round trip, whose
// noise on loopback hides it (run with -cpu 1 to count the writer's CPU
// too).
func BenchmarkMockAccessLog(b *testing.B) {
	b.Run("off", func(b *testing.B) { serveLoop(b, benchGateway(b, mockChain)) })
	b.Run("json", func(b *testing.B) { serveLoop(b, benchGateway(b, accessLogChain(b, "json")+mockChain)) })
}
