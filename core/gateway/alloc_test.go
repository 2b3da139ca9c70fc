package gateway_test

import (
	"net"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestProxyPathDoesNotAllocate guards the performance rule of DESIGN.md:
// the plain proxy path, and the typical chain, allocate nothing per request
// in steady state.
func TestProxyPathDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	for _, tc := range []struct{ name, plugins string }{{"empty chain", ""}, {"typical chain", typicalChain}} {
		t.Run(tc.name, func(t *testing.T) {
			g := benchGateway(t, tc.plugins)
			var fc fasthttp.RequestCtx
			var req fasthttp.Request
			req.Header.SetMethod("GET")
			req.SetRequestURI("/api/items?id=7")
			req.Header.SetHost("api.example.com")
			req.Header.Set("X-Forwarded-For", "6.6.6.6")
			fc.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
			n := testing.AllocsPerRun(500, func() {
				req.CopyTo(&fc.Request)
				fc.Response.Reset()
				g.ServeHTTP(&fc)
				if fc.Response.StatusCode() != 200 {
					t.Fatalf("status %d", fc.Response.StatusCode())
				}
			})
			if n != 0 {
				t.Errorf("%v allocations per request, want 0", n)
			}
		})
	}
}
