package cache_test

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/gateway"
	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/core/redistest"
	"github.com/moongate/moongate/plugins/cache/clustersync"
	"github.com/valyala/fasthttp"
)

// purgeServer is a gateway (not listening: requests go to its ServeHTTP)
// whose cache step accepts PURGE, with or without [redis], and a request
// context for method on /items/42.
type purgeServer struct {
	g  *gateway.Gateway
	fc *fasthttp.RequestCtx
}

func newPurgeServer(b *testing.B, method string, cluster bool) *purgeServer {
	b.Helper()
	up := gatewaytest.StartUpstream(b, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	extra := "[admin]\nlisten = \"\"\n"
	if cluster {
		extra += "[redis]\naddresses = [\"" + redistest.Start(b).Addr + "\"]\n"
	}
	toml := gatewayTOML(up.URL, `  purge = { ips = ["127.0.0.0/8"] }`, extra)
	file := filepath.Join(b.TempDir(), "moongate.toml")
	if err := os.WriteFile(file, []byte(toml), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		b.Fatal(err)
	}
	g, err := gateway.New(cfg, gatewaytest.Logger(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { g.Runtime().Close(time.Second) })
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI("http://api.example.com/items/42")
	req.Header.SetHost("api.example.com")
	fc := &fasthttp.RequestCtx{}
	fc.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
	return &purgeServer{g: g, fc: fc}
}

func (s *purgeServer) serve() {
	s.fc.Response.Reset()
	s.g.ServeHTTP(s.fc)
}

func benchmarkPurgeRequest(b *testing.B, method string, cluster bool) {
	s := newPurgeServer(b, method, cluster)
	s.serve()
	if s.fc.Response.StatusCode() != 200 {
		b.Fatalf("%s: %d %s", method, s.fc.Response.StatusCode(), s.fc.Response.Body())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.serve()
	}
	b.StopTimer()
	if !cluster {
		return
	}
	// What the loop queued is published in the background (as a purge of
	// everything when it came faster than Redis took it).
	st := s.g.Cache().Stats()
	for _, ns := range st.Namespaces {
		if ns.Name == "proxy" {
			b.ReportMetric(float64(ns.Counters[clustersync.CounterQueueFull])/float64(b.N), "queue-full/op")
		}
	}
}

// BenchmarkPurgeMethod is a PURGE answered by the cache step: the URL's
// generation renewed, and with [redis] the purge queued for the other
// nodes (one string and a channel send; never a wait on Redis).
func BenchmarkPurgeMethod(b *testing.B) {
	b.Run("local", func(b *testing.B) { benchmarkPurgeRequest(b, "PURGE", false) })
	b.Run("cluster", func(b *testing.B) { benchmarkPurgeRequest(b, "PURGE", true) })
}

// BenchmarkInvalidate is a POST proxied to the upstream, after which the
// cache step drops the URL's entries (and with [redis] queues the purge).
func BenchmarkInvalidate(b *testing.B) {
	b.Run("local", func(b *testing.B) { benchmarkPurgeRequest(b, "POST", false) })
	b.Run("cluster", func(b *testing.B) { benchmarkPurgeRequest(b, "POST", true) })
}
