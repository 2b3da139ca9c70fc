package ratelimit

import (
	"net"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/valyala/fasthttp"
)

// localStep is a rate-limit step of policy "local" that never refuses in
// a benchmark, with the key given.
func localStep(key string) string {
	return `
  [[routes.plugins]]
  name = "rate-limit"
  [routes.plugins.config]
  limits = [{ requests = 1000000000, per = "1h" }, { requests = 1000000000, per = "1s" }]
  key = ` + key + "\n"
}

// benchRequest returns a request context for the chain's route, from one
// client, with a consumer.
func benchRequest(tb testing.TB) *fasthttp.RequestCtx {
	var req fasthttp.Request
	req.SetRequestURI("http://gw/things/1")
	req.Header.Set("X-Tenant", "acme")
	fc := &fasthttp.RequestCtx{}
	fc.Init(&req, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1000}, nil)
	return fc
}

var alice = &consumer.Consumer{Name: "alice"}

// serveOnce runs one request through ch, as the gateway would.
func serveOnce(tb testing.TB, ch *plugintest.Chain, fc *fasthttp.RequestCtx) {
	fc.Response.Reset()
	c := ch.Context(fc)
	c.Consumer = alice
	ch.Serve(c)
	if c.Response.StatusCode() != 200 {
		tb.Fatalf("status %d", c.Response.StatusCode())
	}
	ch.Finish(c)
}

// TestLocalDecisionDoesNotAllocate: a request through a chain with a
// local rate limit (key composed, decision, both header fields written)
// allocates nothing in steady state, for each kind of key.
func TestLocalDecisionDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	for _, key := range []string{`"consumer"`, `"ip"`, `["consumer", "ip", "header:X-Tenant"]`} {
		for _, headers := range []string{"draft", "legacy"} {
			ch, _ := mustChain(t, localStep(key)+`  headers = "`+headers+`"`+"\n")
			fc := benchRequest(t)
			serveOnce(t, ch, fc)
			if n := testing.AllocsPerRun(1000, func() { serveOnce(t, ch, fc) }); n != 0 {
				t.Errorf("key %s, headers %s: %v allocations per request, want 0", key, headers, n)
			}
		}
	}
}

// BenchmarkChain is a request through a route's chain (synthetic
// upstream): without a step, then with a local rate limit per consumer,
// per IP, and per consumer + IP + header. The difference is the step's
// cost.
func BenchmarkChain(b *testing.B) {
	for _, tc := range []struct{ name, steps string }{
		{"empty", ""},
		{"local-consumer", localStep(`"consumer"`)},
		{"local-ip", localStep(`"ip"`)},
		{"local-consumer+ip+header", localStep(`["consumer", "ip", "header:X-Tenant"]`)},
		{"local-gcra-consumer", strings.ReplaceAll(localStep(`"consumer"`), "1000000000", "1000000") + "  algorithm = \"gcra\"\n"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ch, _ := mustChain(b, tc.steps)
			fc := benchRequest(b)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				serveOnce(b, ch, fc)
			}
		})
	}
}
