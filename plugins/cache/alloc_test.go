package cache_test

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/gateway"
	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/valyala/fasthttp"
)

// TestCacheHitAllocatesNothing guards the hit path: a small cached
// response served through the gateway's ServeHTTP allocates nothing.
func TestCacheHitAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, tc := range []struct {
		name, conf string
		upHeaders  []string
	}{
		{"plain", "", nil},
		{"key headers", `key_headers = ["Accept"]`, nil},
		{"vary", "", []string{"Vary", "Accept"}},
		{"trusted proxy with forwarded host", "trusted", nil},
		{"anonymous consumer", "anonymous", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newHitServer(t, 100, tc.conf, tc.upHeaders...)
			if n := testing.AllocsPerRun(200, s.serve); n != 0 {
				t.Fatalf("a cache hit allocates %v times, want 0", n)
			}
		})
	}
}

// TestCacheRangeHitAllocatesNothing: a Range request answered from a
// stored response (a 206 cut from it) allocates nothing either, also once
// the response body pool has calibrated itself on the sizes it saw (it
// does every 42,000 bodies, and then drops buffers larger than most).
func TestCacheRangeHitAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	s := newRangeHitServer(t)
	if n := testing.AllocsPerRun(50000, s.serve); n != 0 {
		t.Fatalf("a range hit allocates %v times, want 0", n)
	}
}

// TestCacheHitsOfMixedSizesAllocateNothing: a hit's body moves into the
// response with the buffer it was read into, and the response's previous
// buffer goes back to the cache's pool in exchange (serve.go, moveBody).
// Hits of different sizes (small, 10 KB, through the Big API) on two
// connections, in different orders, keep exchanging buffers: once each
// buffer has grown to what it holds, none shrinks and nothing allocates,
// and every body is the right one.
func TestCacheHitsOfMixedSizesAllocateNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	sizes := map[string]int{"/small": 100, "/10k": 10 << 10, "/big": 100 << 10}
	bodies := map[string][]byte{}
	for p, n := range sizes {
		bodies[p] = bytes.Repeat([]byte(p[1:2]), n)
	}
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Cache-Control", "max-age=3600")
		ctx.SetBody(bodies[string(ctx.Path())])
	})
	file := filepath.Join(t.TempDir(), "moongate.toml")
	if err := os.WriteFile(file, []byte(gatewayTOML(up.URL, "", "[admin]\nlisten = \"\"\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(cfg, gatewaytest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	conns := [2]*fasthttp.RequestCtx{{}, {}}
	for _, fc := range conns {
		fc.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
	}
	orders := [2][]string{{"/small", "/10k", "/big", "/10k"}, {"/big", "/small", "/small", "/10k"}}
	serve := func(fc *fasthttp.RequestCtx, path string) {
		fc.Request.Reset()
		fc.Request.SetRequestURI("http://api.example.com" + path)
		fc.Request.Header.SetHost("api.example.com")
		fc.Response.Reset()
		g.ServeHTTP(fc)
	}
	for p := range sizes {
		serve(conns[0], p) // stored
	}
	round := func() {
		for i, fc := range conns {
			for _, p := range orders[i] {
				serve(fc, p)
				if !bytes.Equal(fc.Response.Body(), bodies[p]) || string(fc.Response.Header.Peek("X-Cache-Status")) != "HIT" {
					t.Fatalf("%s: %s, %d bytes", p, fc.Response.Header.Peek("X-Cache-Status"), len(fc.Response.Body()))
				}
			}
		}
	}
	for range 100 {
		round() // the buffers grow to what they hold
	}
	if n := testing.AllocsPerRun(1000, round); n != 0 {
		t.Fatalf("a round of hits allocates %v times, want 0", n)
	}
}
