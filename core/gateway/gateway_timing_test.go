package gateway_test

import (
	"net"
	"testing"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/gateway"
	"github.com/moongate/moongate/core/gateway/gatewaytest"
	_ "github.com/moongate/moongate/plugins/headers"
	_ "github.com/moongate/moongate/plugins/mock"
	_ "github.com/moongate/moongate/plugins/requestid"
	"github.com/valyala/fasthttp"
)

// benchGateway builds a gateway (not listening) in front of a real
// loopback upstream answering 100 bytes, with the given global chain.
func benchGateway(b testing.TB, plugins string) *gateway.Gateway {
	b.Helper()
	body := make([]byte, 100)
	for i := range body {
		body[i] = 'x'
	}
	up := gatewaytest.StartUpstream(b, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("text/plain")
		ctx.SetBody(body)
	})
	cfg, err := config.Parse("bench.toml", []byte(`
[admin]
listen = ""
`+plugins+`
[[upstreams]]
name = "u"
targets = [{ url = "`+up.URL+`" }]
[[routes]]
paths = ["/"]
upstream = "u"
`))
	if err != nil {
		b.Fatal(err)
	}
	g, err := gateway.New(cfg, gatewaytest.Logger(b))
	if err != nil {
		b.Fatal(err)
	}
	return g
}

const typicalChain = `
[[plugins]]
name = "request-id"
[[plugins]]
name = "headers"
[plugins.config.request]
set = { "X-Gateway" = "moongate" }
remove = ["X-Debug"]
[plugins.config.response]
set = { "X-Served-By" = "moongate" }
`

// trustedLoopback makes the benchmark's client, 127.0.0.1, a trusted proxy.
const trustedLoopback = `
[server]
trusted_proxies = ["127.0.0.1/32"]
`

// benchRequest returns a typical request and a RequestCtx from a client on
// 127.0.0.1, as fasthttp's server prepares them. extra are more header
// name, value pairs, added as separate lines.
func benchRequest(extra ...string) (*fasthttp.Request, *fasthttp.RequestCtx) {
	var fc fasthttp.RequestCtx
	var req fasthttp.Request
	req.Header.SetMethod("GET")
	req.SetRequestURI("/api/items?id=7")
	req.Header.SetHost("api.example.com")
	req.Header.Set("User-Agent", "bench")
	req.Header.Set("Accept", "*/*")
	req.Header.Set("X-Forwarded-For", "6.6.6.6")
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Add(extra[i], extra[i+1])
	}
	fc.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
	return &req, &fc
}

// behindProxy is what a client behind a trusted proxy sends: a keep-alive
// Connection header and a second X-Forwarded-For line the proxy appended.
var behindProxy = []string{"Connection", "keep-alive", "X-Forwarded-For", "203.0.113.9"}

// withTraceparent is a client's sampled trace, with a tracestate
// forwarded as it is.
var withTraceparent = []string{"Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	"Tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"}

// withTracestateLines is a client's trace whose tracestate comes in two
// lines, with optional whitespace: the gateway rewrites it as one.
var withTracestateLines = []string{"Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	"Tracestate", "rojo=00f067aa0ba902b7 , ", "Tracestate", "congo=t61rcWkgMzE"}

// serveOnce serves req again on the reused fc, as fasthttp's server does for
// the next request of a keep-alive connection.
func serveOnce(tb testing.TB, g *gateway.Gateway, req *fasthttp.Request, fc *fasthttp.RequestCtx) {
	req.CopyTo(&fc.Request)
	fc.Response.Reset()
	g.ServeHTTP(fc)
	if fc.Response.StatusCode() != 200 {
		tb.Fatalf("status %d: %s", fc.Response.StatusCode(), fc.Response.Body())
	}
}

func serveLoop(b *testing.B, g *gateway.Gateway, extra ...string) {
	req, fc := benchRequest(extra...)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		serveOnce(b, g, req, fc)
	}
}

// BenchmarkProxyEmptyChain is the plain proxy path: route, forward to a
// loopback upstream, answer. Most of its time is the loopback round trip.
func BenchmarkProxyEmptyChain(b *testing.B) { serveLoop(b, benchGateway(b, "")) }

// BenchmarkProxyTypicalChain adds request-id and headers (set, remove).
func BenchmarkProxyTypicalChain(b *testing.B) { serveLoop(b, benchGateway(b, typicalChain)) }

// BenchmarkProxyBehindTrustedProxy is the plain proxy path for a client
// behind a trusted proxy: Connection header removed, X-Forwarded-For lines
// read as one list and joined upstream.
func BenchmarkProxyBehindTrustedProxy(b *testing.B) {
	serveLoop(b, benchGateway(b, trustedLoopback), behindProxy...)
}

// BenchmarkMock is a chain that answers itself: the gateway's own cost
// without the upstream round trip.
func BenchmarkMock(b *testing.B) {
	serveLoop(b, benchGateway(b, `
[[plugins]]
name = "mock"
[plugins.config]
body = "hello"
`))
}

// BenchmarkThreePlugins runs request-id, headers and mock (which answers):
// the chain's own cost, without an upstream.
func BenchmarkThreePlugins(b *testing.B) {
	serveLoop(b, benchGateway(b, typicalChain+`
[[plugins]]
name = "mock"
[plugins.config]
body = "hello"
`))
}

// The gateway's own cost of tracing, without the upstream round trip
// (whose noise on loopback hides it): BenchmarkMock starts a trace
// ([tracing] is on by default); these continue the client's, and turn
// tracing off.
const mockChain = `
[[plugins]]
name = "mock"
[plugins.config]
body = "hello"
`

// BenchmarkMockDraining is BenchmarkMock while the gateway drains (after
// SIGTERM, for shutdown_delay): every response asks for the connection
// to be closed.
func BenchmarkMockDraining(b *testing.B) {
	g := benchGateway(b, mockChain)
	g.Drain()
	serveLoop(b, g)
}

// BenchmarkMockTraceparent continues a client's trace: traceparent
// checked and replaced by the gateway's span, tracestate checked and
// left as it is.
func BenchmarkMockTraceparent(b *testing.B) {
	serveLoop(b, benchGateway(b, mockChain), withTraceparent...)
}

// BenchmarkMockTracestateLines also rewrites a tracestate sent in two
// lines into one.
func BenchmarkMockTracestateLines(b *testing.B) {
	serveLoop(b, benchGateway(b, mockChain), withTracestateLines...)
}

// BenchmarkMockTracingOff is BenchmarkMock with [tracing] enabled = false.
func BenchmarkMockTracingOff(b *testing.B) {
	serveLoop(b, benchGateway(b, "[tracing]\nenabled = false\n"+mockChain))
}
