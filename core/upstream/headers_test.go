package upstream

import (
	"testing"

	"github.com/valyala/fasthttp"
)

func TestStripRequestHopByHop(t *testing.T) {
	var h fasthttp.RequestHeader
	h.Set("Connection", "keep-alive, X-A, x-b")
	h.Set("X-A", "1")
	h.Set("X-B", "2")
	h.Set("Keep-Alive", "timeout=5")
	h.Set("TE", "trailers")
	h.Set("Upgrade", "websocket")
	h.Set("Proxy-Authorization", "secret")
	h.Set("Proxy-Foo", "x")
	h.Set("X-Keep", "yes")
	stripRequestHopByHop(&h)
	for _, k := range []string{"Connection", "X-A", "X-B", "Keep-Alive", "TE", "Upgrade", "Proxy-Authorization", "Proxy-Foo"} {
		if v := h.Peek(k); len(v) > 0 {
			t.Errorf("%s survived: %q", k, v)
		}
	}
	if string(h.Peek("X-Keep")) != "yes" {
		t.Error("X-Keep was removed")
	}
}

func TestHopBit(t *testing.T) {
	for name, want := range map[string]uint16{
		"connection": hopConnection, "KEEP-ALIVE": hopKeepAlive, "Te": hopTE, "Trailer": hopTrailer,
		"Transfer-Encoding": hopTransferEncoding, "upgrade": hopUpgrade, "Proxy-Anything": hopProxy,
		"Proxy-": 0, "X-Proxy-Foo": 0, "Content-Type": 0, "Tee": 0,
	} {
		if got := hopBit([]byte(name)); got != want {
			t.Errorf("hopBit(%q) = %b, want %b", name, got, want)
		}
	}
}

func TestRoundRobinFollowsWeights(t *testing.T) {
	a, b := &Target{URL: "a", Weight: 3}, &Target{URL: "b", Weight: 1}
	bal, _ := newRoundRobin([]*Target{a, b}, nil)
	counts := map[string]int{}
	for i := 0; i < 400; i++ {
		counts[bal.Pick(nil, Filter{}).URL]++
	}
	if counts["a"] != 300 || counts["b"] != 100 {
		t.Errorf("picks %v, want a=300 b=100", counts)
	}
}

func TestManyProxyHeadersAreAllRemoved(t *testing.T) {
	var h fasthttp.ResponseHeader
	for i := 0; i < 20; i++ {
		h.Set("Proxy-X"+string(rune('a'+i)), "v")
	}
	stripResponseHopByHop(&h)
	n := 0
	for k := range h.All() {
		if hopBit(k) == hopProxy {
			n++
		}
	}
	if n != 0 {
		t.Errorf("%d Proxy-* headers survived", n)
	}
}
