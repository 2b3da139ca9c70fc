package cache_test

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/gateway"
	"github.com/moongate/moongate/core/gateway/gatewaytest"
	_ "github.com/moongate/moongate/plugins/keyauth"
	_ "github.com/moongate/moongate/plugins/mock"
	"github.com/valyala/fasthttp"
)

// hitServer is a gateway (not listening: requests go straight to its
// ServeHTTP) with a cache step in front of an upstream answering with a
// body of the given size, and a request context for path.
type hitServer struct {
	g  *gateway.Gateway
	fc *fasthttp.RequestCtx
}

func newHitServer(tb testing.TB, bodySize int, conf string, upHeaders ...string) *hitServer {
	tb.Helper()
	return newHitServerWith(tb, bodySize, conf, "", upHeaders...)
}

// newHitServerWith is newHitServer with more top-level configuration
// (extra), such as a [cache] table.
func newHitServerWith(tb testing.TB, bodySize int, conf, extra string, upHeaders ...string) *hitServer {
	tb.Helper()
	body := bytes.Repeat([]byte("a"), bodySize)
	up := gatewaytest.StartUpstream(tb, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Cache-Control", "max-age=3600")
		ctx.Response.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(upHeaders); i += 2 {
			ctx.Response.Header.Set(upHeaders[i], upHeaders[i+1])
		}
		ctx.SetBody(body)
	})
	toml := gatewayTOML(up.URL, conf, extra+"[admin]\nlisten = \"\"\n")
	switch conf {
	case "off":
		toml = strings.Split(toml, "  [[routes.plugins]]")[0]
	case "mock":
		toml = strings.Split(toml, "  [[routes.plugins]]")[0] + "  [[routes.plugins]]\n  name = \"mock\"\n  [routes.plugins.config]\n  body = \"" + string(body) + "\"\n"
	case "trusted":
		// The client is a trusted proxy that forwards the original host
		// and scheme: they are part of the key.
		toml = "[server]\ntrusted_proxies = [\"127.0.0.0/8\"]\n" + gatewayTOML(up.URL, "", "[admin]\nlisten = \"\"\n")
	case "anonymous":
		// An auth step before the cache gives the request the anonymous
		// consumer, whose name is part of the key.
		toml = strings.Replace(gatewayTOML(up.URL, "", "[admin]\nlisten = \"\"\n[[consumers]]\nname = \"guest\"\n"),
			"  [[routes.plugins]]", "  [[routes.plugins]]\n  name = \"key-auth\"\n  [routes.plugins.config]\n  anonymous = \"guest\"\n  [[routes.plugins]]", 1)
	}
	file := filepath.Join(tb.TempDir(), "moongate.toml")
	if err := os.WriteFile(file, []byte(toml), 0o600); err != nil {
		tb.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		tb.Fatal(err)
	}
	g, err := gateway.New(cfg, gatewaytest.Logger(tb))
	if err != nil {
		tb.Fatal(err)
	}
	var req fasthttp.Request
	req.SetRequestURI("http://api.example.com/items/42?b=2&a=1")
	req.Header.SetHost("api.example.com") // as parsed from a client's request
	if conf == "trusted" {
		req.Header.Set("X-Forwarded-Host", "www.example.com")
		req.Header.Set("X-Forwarded-Proto", "https")
	}
	req.Header.Set("Accept", "application/json")
	fc := &fasthttp.RequestCtx{}
	fc.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
	s := &hitServer{g: g, fc: fc}
	s.serve()
	if conf == "off" || conf == "mock" {
		return s
	}
	if got := string(fc.Response.Header.Peek("X-Cache-Status")); got != "MISS" {
		tb.Fatalf("first request: %s %d", got, fc.Response.StatusCode())
	}
	// Going upstream addressed the request to the target: give it back
	// the client's host, which is part of the key, as a new request from
	// the client would have.
	fc.Request.URI().SetHost("api.example.com")
	fc.Request.Header.SetHost("api.example.com")
	s.serve()
	if got := string(fc.Response.Header.Peek("X-Cache-Status")); got != "HIT" || len(fc.Response.Body()) != bodySize {
		tb.Fatalf("second request: %s, %d bytes", got, len(fc.Response.Body()))
	}
	return s
}

func (s *hitServer) serve() {
	s.fc.Response.Reset()
	s.g.ServeHTTP(s.fc)
}

func benchmarkHit(b *testing.B, size int) {
	s := newHitServer(b, size, "")
	b.ReportAllocs()
	b.SetBytes(int64(size))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.serve()
	}
	b.StopTimer()
	if string(s.fc.Response.Header.Peek("X-Cache-Status")) != "HIT" {
		b.Fatal("not a hit")
	}
}

// BenchmarkCacheHit is a small cached response served through the whole
// gateway: routing, the chain, the cache lookup (key digest, path
// generation, entry) and writing the stored response.
func BenchmarkCacheHit(b *testing.B) { benchmarkHit(b, 100) }

// BenchmarkCacheHit10KB is the same with a 10 KB body.
func BenchmarkCacheHit10KB(b *testing.B) { benchmarkHit(b, 10<<10) }

// BenchmarkCacheHit100KB goes through fastcache's Big API.
func BenchmarkCacheHit100KB(b *testing.B) { benchmarkHit(b, 100<<10) }

// BenchmarkCacheHitParallel serves small hits from every core, each with
// its own request context.
func BenchmarkCacheHitParallel(b *testing.B) {
	s := newHitServer(b, 100, "")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var req fasthttp.Request
		s.fc.Request.CopyTo(&req)
		fc := &fasthttp.RequestCtx{}
		fc.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40001}, nil)
		for pb.Next() {
			fc.Response.Reset()
			s.g.ServeHTTP(fc)
		}
	})
}

// BenchmarkCacheHitVary serves a hit of a response that varies on a
// request header (two lookups: the vary record, then the variant).
func BenchmarkCacheHitVary(b *testing.B) {
	s := newHitServer(b, 100, "", "Vary", "Accept")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.serve()
	}
}

// BenchmarkCacheHitKeyHeaders keys on a request header.
func BenchmarkCacheHitKeyHeaders(b *testing.B) {
	s := newHitServer(b, 100, `key_headers = ["Accept"]`)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.serve()
	}
}

// BenchmarkCacheHitTrustedProxy serves a hit to a trusted proxy that sends
// X-Forwarded-Host and X-Forwarded-Proto (both in the key).
func BenchmarkCacheHitTrustedProxy(b *testing.B) {
	s := newHitServer(b, 100, "trusted")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.serve()
	}
}

// BenchmarkCacheHitAnonymous serves a hit behind key-auth with an
// anonymous consumer (the consumer's name is in the key).
func BenchmarkCacheHitAnonymous(b *testing.B) {
	s := newHitServer(b, 100, "anonymous")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.serve()
	}
}

// BenchmarkCacheHitConditional answers If-None-Match with a 304.
func BenchmarkCacheHitConditional(b *testing.B) {
	s := newHitServer(b, 100, "")
	s.fc.Request.Header.Set("If-None-Match", `*`)
	s.serve()
	if s.fc.Response.StatusCode() != 304 {
		b.Fatalf("status %d, want 304", s.fc.Response.StatusCode())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.serve()
	}
}

// newRangeHitServer is a hit server whose request asks for bytes 10-19.
func newRangeHitServer(tb testing.TB) *hitServer {
	s := newHitServer(tb, 100, "")
	s.fc.Request.Header.Set("Range", "bytes=10-19")
	s.serve()
	if s.fc.Response.StatusCode() != 206 || len(s.fc.Response.Body()) != 10 {
		tb.Fatalf("range hit: %d, %d bytes", s.fc.Response.StatusCode(), len(s.fc.Response.Body()))
	}
	return s
}

// BenchmarkCacheHitRange answers a Range request from a stored response.
func BenchmarkCacheHitRange(b *testing.B) {
	s := newRangeHitServer(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.serve()
	}
}

// BenchmarkProxyNoCache is the baseline: the same request proxied to the
// upstream over loopback, without a cache step.
func BenchmarkProxyNoCache(b *testing.B) {
	s := newHitServer(b, 100, "off")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.serve()
	}
}

// BenchmarkBaselineMockStep is the floor: the same request answered by a
// step that writes a fixed 100-byte response (no lookup at all).
func BenchmarkBaselineMockStep(b *testing.B) {
	s := newHitServer(b, 100, "mock")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.serve()
	}
}
