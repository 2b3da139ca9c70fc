package lua_test

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/gateway"
	_ "github.com/moongate/moongate/plugins/headers"
	_ "github.com/moongate/moongate/plugins/keyauth"
	_ "github.com/moongate/moongate/plugins/mock"
	_ "github.com/moongate/moongate/plugins/requestid"
	"github.com/valyala/fasthttp"
)

const trivialScript = `
local M = {}
function M.on_request(conf)
  local v = gw.request.get_header("X-In")
  gw.request.set_header("X-Out", "seen")
end
return M
`

// benchGateway builds a gateway (no listeners) whose only route runs
// steps, then a mock step answering 200, so that the benchmark measures
// the request path without network I/O.
func benchGateway(b *testing.B, withScript bool) *gateway.Gateway {
	dir := writeScripts(b, map[string]string{"trivial.lua": trivialScript})
	step := ""
	if withScript {
		step = fmt.Sprintf("  [[routes.plugins]]\n  script = %q\n", filepath.Join(dir, "trivial.lua"))
	}
	toml := fmt.Sprintf(`[admin]
listen = ""
[cache]
size = "32MB"
[lua]
dir = %q
[[routes]]
paths = ["/"]
%s  [[routes.plugins]]
  name = "mock"
  [routes.plugins.config]
  status = 200
  body = "ok"
`, dir, step)
	cfg, err := config.Parse("bench.toml", []byte(toml))
	if err != nil {
		b.Fatal(err)
	}
	g, err := gateway.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	return g
}

func newBenchCtx() *fasthttp.RequestCtx {
	var req fasthttp.Request
	req.SetRequestURI("/x")
	req.Header.SetHost("example.com")
	req.Header.Set("X-In", "value")
	fc := &fasthttp.RequestCtx{}
	fc.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}, nil)
	return fc
}

func benchServe(b *testing.B, withScript bool) {
	g := benchGateway(b, withScript)
	fc := newBenchCtx()
	g.ServeHTTP(fc)
	if fc.Response.StatusCode() != 200 || withScript && string(fc.Request.Header.Peek("X-Out")) != "seen" {
		b.Fatalf("got %d X-Out=%q", fc.Response.StatusCode(), fc.Request.Header.Peek("X-Out"))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fc.Response.Reset()
		g.ServeHTTP(fc)
	}
}

// BenchmarkChainWithoutScript is the baseline: routing, context, a mock
// step answering.
func BenchmarkChainWithoutScript(b *testing.B) { benchServe(b, false) }

// BenchmarkChainWithScript adds one trivial script step (reads a header,
// sets a header); the difference is the cost of the script step.
func BenchmarkChainWithScript(b *testing.B) { benchServe(b, true) }

// BenchmarkChainWithScriptParallel is BenchmarkChainWithScript on every
// CPU: the pool hands each goroutine its own warm state.
func BenchmarkChainWithScriptParallel(b *testing.B) {
	g := benchGateway(b, true)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		fc := newBenchCtx()
		for pb.Next() {
			fc.Response.Reset()
			g.ServeHTTP(fc)
		}
	})
}

// benchChainScript is bench/conf/trivial.lua: one request header set.
const benchChainScript = `
local M = {}
function M.on_request(conf)
  gw.request.set_header("X-Lua", "1")
end
return M
`

// benchChainGateway is the chain of bench/conf/moongate-chain.toml
// (request-id, key-auth with one consumer, headers, the trivial Lua
// step; only the Lua step when luaOnly), answered by a mock step instead
// of the upstream.
func benchChainGateway(b *testing.B, luaOnly bool) *gateway.Gateway {
	dir := writeScripts(b, map[string]string{"trivial.lua": benchChainScript})
	goSteps := `
  [[routes.plugins]]
  name = "request-id"
  [[routes.plugins]]
  name = "key-auth"
    [routes.plugins.config]
    header = "X-API-Key"
  [[routes.plugins]]
  name = "headers"
    [routes.plugins.config.request]
    set = { "X-Gateway" = "bench" }
    [routes.plugins.config.response]
    set = { "X-Served-By" = "bench" }
`
	if luaOnly {
		goSteps = ""
	}
	toml := fmt.Sprintf(`[admin]
listen = ""
[lua]
dir = %q
[[consumers]]
name = "bench"
keys = ["bench-key-0123456789"]
[[routes]]
paths = ["/"]
%s  [[routes.plugins]]
  script = %q
  [[routes.plugins]]
  name = "mock"
  [routes.plugins.config]
  status = 200
  body = "ok"
`, dir, goSteps, filepath.Join(dir, "trivial.lua"))
	cfg, err := config.Parse("bench.toml", []byte(toml))
	if err != nil {
		b.Fatal(err)
	}
	g, err := gateway.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	return g
}

func benchChainServe(b *testing.B, luaOnly bool) {
	g := benchChainGateway(b, luaOnly)
	var req fasthttp.Request
	req.SetRequestURI("/100")
	req.Header.SetHost("example.com")
	req.Header.Set("X-API-Key", "bench-key-0123456789")
	fc := &fasthttp.RequestCtx{}
	fc.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}, nil)
	serve := func() {
		req.CopyTo(&fc.Request)
		fc.Response.Reset()
		g.ServeHTTP(fc)
	}
	serve()
	if fc.Response.StatusCode() != 200 || string(fc.Request.Header.Peek("X-Lua")) != "1" ||
		!luaOnly && (len(fc.Response.Header.Peek("X-Request-Id")) == 0 || string(fc.Request.Header.Peek("X-Gateway")) != "bench") {
		b.Fatalf("got %d\n%s\n%s", fc.Response.StatusCode(), fc.Request.Header.Header(), fc.Response.Header.Header())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		serve()
	}
}

// BenchmarkBenchChain is the chain scenario of bench/compare
// (moongate-chain: request-id, key-auth, headers and the trivial Lua
// step) without the network: the request copied in, the chain, a mock
// answer.
func BenchmarkBenchChain(b *testing.B) { benchChainServe(b, false) }

// BenchmarkBenchChainLuaOnly is BenchmarkBenchChain with the Lua step
// only (moongate-lua).
func BenchmarkBenchChainLuaOnly(b *testing.B) { benchChainServe(b, true) }
