package floor_test

import (
	"net"
	"testing"

	"github.com/moongate/moongate/bench/floor"
	"github.com/moongate/moongate/bench/origin"
	"github.com/valyala/fasthttp"
)

// BenchmarkFloor is the bare fasthttp proxy forwarding a 100-byte answer
// from a loopback origin, driven like core/gateway's
// BenchmarkProxyEmptyChain: the baseline moongate's plain proxy path is
// compared with.
func BenchmarkFloor(b *testing.B) {
	up := serve(b, origin.New().Server())
	p := floor.New(up)
	var fc fasthttp.RequestCtx
	var req fasthttp.Request
	req.Header.SetMethod("GET")
	req.SetRequestURI(origin.SmallPath)
	req.Header.SetHost("api.example.com")
	req.Header.Set("User-Agent", "bench")
	req.Header.Set("Accept", "*/*")
	fc.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req.CopyTo(&fc.Request)
		fc.Response.Reset()
		p.Handler(&fc)
		if fc.Response.StatusCode() != 200 {
			b.Fatalf("status %d", fc.Response.StatusCode())
		}
	}
}
