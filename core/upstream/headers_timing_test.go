package upstream

import (
	"net"
	"net/netip"
	"testing"

	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/moongate/moongate/core/realip"
	"github.com/valyala/fasthttp"
)

// BenchmarkRequestHeaders is the header work of the proxy path, without
// the round trip: the client's hop-by-hop headers removed before the
// chain, then X-Forwarded-* and X-Real-IP set for the upstream.
func BenchmarkRequestHeaders(b *testing.B) {
	for _, bc := range []struct {
		name    string
		trusted []netip.Prefix
		extra   []string
	}{
		{"plain", nil, nil},
		{"keep-alive", nil, []string{"Connection", "keep-alive"}},
		{"behind a trusted proxy", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
			[]string{"Connection", "keep-alive", "X-Forwarded-For", "203.0.113.9", "X-Forwarded-Proto", "https"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var req fasthttp.Request
			req.Header.SetMethod("GET")
			req.SetRequestURI("/api/items?id=7")
			req.Header.SetHost("api.example.com")
			req.Header.Set("User-Agent", "bench")
			req.Header.Set("Accept", "*/*")
			req.Header.Set("X-Forwarded-For", "6.6.6.6")
			for i := 0; i+1 < len(bc.extra); i += 2 {
				req.Header.Add(bc.extra[i], bc.extra[i+1])
			}
			var fc fasthttp.RequestCtx
			fc.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
			route := &reqctx.Route{}
			trusted := realip.NewTrusted(bc.trusted)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				req.Header.CopyTo(&fc.Request.Header)
				c := reqctx.Acquire(&fc)
				c.Setup(route, -1, trusted, nil, nil)
				PrepareClientHeaders(&fc.Request.Header, false)
				prepareRequest(c)
				reqctx.Release(c)
			}
		})
	}
}
