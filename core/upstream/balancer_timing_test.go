package upstream

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/valyala/fasthttp"
)

var balancerCases = []struct {
	name string
	edit func(*config.Upstream)
}{
	{"round-robin", nil},
	{"least-conn", nil},
	{"consistent-hash", func(u *config.Upstream) { u.HashOn = "header"; u.HashKey = "X-User" }},
	{"ewma", nil},
	{"sticky", func(u *config.Upstream) { u.Sticky.Secret = "k" }},
}

// stickyCookie returns a valid sticky cookie header for target t.
func stickyCookie(tb testing.TB, b Balancer, t *Target) string {
	s, ok := b.(*sticky)
	if !ok {
		return ""
	}
	c := testContext(tb, "10.0.0.1")
	s.Picked(c, t)
	ck := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(ck)
	ck.SetKey(s.cookie)
	c.Response.Header.Cookie(ck)
	return s.cookie + "=" + string(ck.Value())
}

func benchContext(tb testing.TB, b Balancer, ts []*Target) *reqctx.Context {
	headers := []string{"X-User", "user-42"}
	if ck := stickyCookie(tb, b, ts[2]); ck != "" {
		headers = append(headers, "Cookie", ck)
	}
	return testContext(tb, "10.1.2.3", headers...)
}

func TestPickAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	for _, bc := range balancerCases {
		t.Run(bc.name, func(t *testing.T) {
			ts := testTargets(t, 3, 2, 1, 1, 1, 1, 1, 1)
			b := testBalancer(t, bc.name, ts, bc.edit)
			c := benchContext(t, b, ts)
			f := Filter{Now: time.Now().UnixNano()}
			if n := testing.AllocsPerRun(1000, func() { b.Pick(c, f) }); n != 0 {
				t.Fatalf("got %v allocs per pick, want 0", n)
			}
		})
	}
}

func BenchmarkPick(b *testing.B) {
	for _, bc := range balancerCases {
		b.Run(bc.name, func(b *testing.B) {
			ts := testTargets(b, 3, 2, 1, 1, 1, 1, 1, 1)
			bal := testBalancer(b, bc.name, ts, bc.edit)
			c := benchContext(b, bal, ts)
			f := Filter{Now: time.Now().UnixNano()}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if bal.Pick(c, f) == nil {
					b.Fatal("no pick")
				}
			}
		})
	}
}

func BenchmarkPickParallel(b *testing.B) {
	for _, bc := range balancerCases {
		b.Run(bc.name, func(b *testing.B) {
			ts := testTargets(b, 3, 2, 1, 1, 1, 1, 1, 1)
			bal := testBalancer(b, bc.name, ts, bc.edit)
			c := benchContext(b, bal, ts)
			f := Filter{Now: time.Now().UnixNano()}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					bal.Pick(c, f)
				}
			})
		})
	}
}

// startBenchUpstream serves a small fixed answer on loopback.
func startBenchUpstream(tb testing.TB, body string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(body) }}
	go srv.Serve(ln)                      //nolint:errcheck // ends at Shutdown
	tb.Cleanup(func() { srv.Shutdown() }) //nolint:errcheck // best effort
	return "http://" + ln.Addr().String()
}

// forwardSetup builds an upstream over a real loopback target and a
// context for a plain GET, as the gateway would hand it over.
func forwardSetup(tb testing.TB, balancer string) (*Upstream, *fasthttp.RequestCtx, *reqctx.Route) {
	url := startBenchUpstream(tb, "hello")
	cfg := &config.Upstream{Name: "bench", Targets: []config.Target{{URL: url, Weight: 1}}}
	cfg.SetDefaults()
	cfg.Balancer = balancer
	u, err := New(cfg, "upstreams[0]", nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(u.Close)
	r := &reqctx.Route{Name: "r", Upstream: u}
	return u, &fasthttp.RequestCtx{}, r
}

func forwardOnce(tb testing.TB, u *Upstream, fc *fasthttp.RequestCtx, r *reqctx.Route, req *fasthttp.Request) {
	fc.Request.Reset()
	req.CopyTo(&fc.Request)
	fc.Response.Reset()
	c := reqctx.Acquire(fc)
	c.Setup(r, -1, nil, nil, nil)
	if err := u.Forward(c); err != nil {
		tb.Fatal(err)
	}
	reqctx.Release(c)
	if fc.Response.StatusCode() != 200 {
		tb.Fatalf("got status %d", fc.Response.StatusCode())
	}
}

func benchRequest() *fasthttp.Request {
	req := &fasthttp.Request{}
	req.SetRequestURI("http://gateway.local/users/42?x=1")
	req.Header.Set("Accept", "application/json")
	return req
}

func TestForwardAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	u, fc, r := forwardSetup(t, "round-robin")
	fc.Init(benchRequest(), &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 5}, nil)
	req := benchRequest()
	for range 10 {
		forwardOnce(t, u, fc, r, req)
	}
	if n := testing.AllocsPerRun(200, func() { forwardOnce(t, u, fc, r, req) }); n != 0 {
		t.Fatalf("got %v allocs per forwarded request, want 0", n)
	}
}

func BenchmarkForward(b *testing.B) {
	u, fc, r := forwardSetup(b, "round-robin")
	fc.Init(benchRequest(), &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 5}, nil)
	req := benchRequest()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		forwardOnce(b, u, fc, r, req)
	}
}

// BenchmarkPickScale is how a pick's cost grows with the number of
// targets of an upstream (2, 100, 1 000, all of weight 1), for every
// balancer, with every target up and with the first half down (ejected
// by the active check). The sticky client's cookie names the last target.
func BenchmarkPickScale(b *testing.B) {
	for _, bc := range balancerCases {
		for _, n := range []int{2, 100, 1000} {
			for _, down := range []bool{false, true} {
				health := "up"
				if down {
					health = "half-down"
				}
				b.Run(bc.name+"/targets="+strconv.Itoa(n)+"/"+health, func(b *testing.B) {
					weights := make([]int, n)
					for i := range weights {
						weights[i] = 1
					}
					ts := testTargets(b, weights...)
					bal := testBalancer(b, bc.name, ts, bc.edit)
					headers := []string{"X-User", "user-42"}
					if ck := stickyCookie(b, bal, ts[n-1]); ck != "" {
						headers = append(headers, "Cookie", ck)
					}
					c := testContext(b, "10.1.2.3", headers...)
					if down {
						for _, t := range ts[:n/2] {
							t.activeDown.Store(true)
						}
					}
					f := Filter{Now: time.Now().UnixNano()}
					if t := bal.Pick(c, f); t == nil || !t.Up(f.Now) || bc.name == "sticky" && t != ts[n-1] {
						b.Fatalf("bad pick %v", t)
					}
					b.ReportAllocs()
					for b.Loop() {
						if bal.Pick(c, f) == nil {
							b.Fatal("no pick")
						}
					}
				})
			}
		}
	}
}
