package gateway

import (
	"testing"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/valyala/fasthttp"
)

// BenchmarkServeConnMetrics serves requests over a connection, fasthttp's
// write included, with metrics (the default: the request is counted when
// its handler returns and its duration once the write ends) and without.
//
//	go test -run '^$' -bench BenchmarkServeConnMetrics -benchmem -count 6 ./core/gateway
func BenchmarkServeConnMetrics(b *testing.B) {
	for _, bc := range []struct{ name, config string }{
		{"on", ""},
		{"off", "[metrics]\nenabled = false\n"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cc := serveOverConn(b, bc.config)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				cc.roundTrip(b)
			}
		})
	}
}

// TestMetricsAfterWriteDoesNotAllocate: counting a request, and its
// duration once the write ends, allocates nothing per request once each
// series exists.
func TestMetricsAfterWriteDoesNotAllocate(t *testing.T) {
	if raceDetector {
		t.Skip("allocation counts are not meaningful under -race")
	}
	cc := serveOverConn(t, "")
	for range 100 {
		cc.roundTrip(t)
	}
	if n := testing.AllocsPerRun(500, func() { cc.roundTrip(t) }); n != 0 {
		t.Errorf("%v allocations per request, want 0", n)
	}
}

// BenchmarkMetricsHandled is what metrics add to one request by
// themselves: the request counted by route, method and status, its
// upstream time, then its duration and bytes (the write taken as done).
func BenchmarkMetricsHandled(b *testing.B) {
	cfg, err := config.Parse("bench.toml", []byte("[admin]\nlisten = \"\"\n[[routes]]\npaths = [\"/\"]\n"+
		"  [[routes.plugins]]\n  name = \"mock\"\n"))
	if err != nil {
		b.Fatal(err)
	}
	g, err := New(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	rt := g.Runtime()
	var fc fasthttp.RequestCtx
	fc.Request.Header.SetMethod("GET")
	fc.Response.SetBodyString("hello")
	c := reqctx.Acquire(&fc)
	c.Setup(&rt.routes[0].Route, -1, rt.trusted, rt.lookup, rt.logger)
	c.SetUpstreamTime(time.Millisecond)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		rt.metrics.handled(&fc, c)
	}
}
