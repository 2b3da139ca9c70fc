package cache

import (
	"net"
	"testing"

	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/valyala/fasthttp"
)

// BenchmarkDigest is the key of a small GET alone: route, method, origin,
// path, sorted query, identity, SHA-256.
func BenchmarkDigest(b *testing.B) {
	p := &Plugin{}
	p.keyHost = true
	var fc fasthttp.RequestCtx
	var req fasthttp.Request
	req.SetRequestURI("http://api.example.com/items/42?b=2&a=1")
	req.Header.SetHost("api.example.com")
	fc.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
	ch, err := plugintest.NewChain(plugintest.Options{Route: "r"})
	if err != nil {
		b.Fatal(err)
	}
	c := ch.Context(&fc)
	st := acquireState()
	b.ReportAllocs()
	for b.Loop() {
		st.hadAuth, st.perConsumer = false, false
		if !p.digest(c, st) {
			b.Fatal("not keyed")
		}
	}
}
