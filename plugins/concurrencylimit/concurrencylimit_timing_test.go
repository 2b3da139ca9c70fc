package concurrencylimit

import (
	"net"
	"testing"

	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/valyala/fasthttp"
)

// cycle is one request taking a slot and giving it back at the end of its
// response, as fasthttp does.
func cycle(tb testing.TB, p *Plugin, fc *fasthttp.RequestCtx) {
	c := plugintest.NewContext(fc)
	c.Consumer = alice
	if err := p.OnRequest(c); err != nil || c.Answered() {
		tb.Fatalf("refused: %v %d", err, c.Response.StatusCode())
	}
	plugintest.Release(c)
	fc.ResetUserValues()
}

var alice = &consumer.Consumer{Name: "alice"}

func benchCtx() *fasthttp.RequestCtx {
	fc := &fasthttp.RequestCtx{}
	fc.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1}, nil)
	return fc
}

// TestSlotDoesNotAllocate: taking and giving back a slot of a known key
// allocates nothing.
func TestSlotDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	for _, key := range []string{`"route"`, `"consumer"`, `["consumer", "ip"]`} {
		p := mustStep(t, "max_in_flight = 10\nkey = "+key+"\n")
		fc := benchCtx()
		cycle(t, p, fc)
		if n := testing.AllocsPerRun(1000, func() { cycle(t, p, fc) }); n != 0 {
			t.Errorf("key %s: %v allocations per request, want 0", key, n)
		}
	}
}

func BenchmarkSlot(b *testing.B) {
	for _, key := range []string{`"route"`, `"consumer"`} {
		b.Run(key, func(b *testing.B) {
			p := mustStep(b, "max_in_flight = 1000000\nkey = "+key+"\n")
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				fc := benchCtx()
				for pb.Next() {
					cycle(b, p, fc)
				}
			})
		})
	}
}
