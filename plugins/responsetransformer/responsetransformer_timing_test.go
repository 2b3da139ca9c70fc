package responsetransformer

import (
	"testing"

	"github.com/moongate/moongate/core/compress"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/valyala/fasthttp"
)

const benchBody = `{"user":"bob","password":"hunter2","items":[{"sku":"A-1","qty":2},{"sku":"B-7","qty":1}],"note":"leave at the door"}`

var alice = &consumer.Consumer{Name: "alice"}

func benchRun(tb testing.TB, p *Plugin, fc *fasthttp.RequestCtx, body []byte, encoding string) {
	fc.Request.Reset()
	fc.Request.SetRequestURI("/orders/7")
	fc.Response.Reset()
	fc.Response.Header.SetContentType("application/json")
	fc.Response.Header.Set("Server", "upstream")
	if encoding != "" {
		fc.Response.Header.Set("Content-Encoding", encoding)
	}
	fc.Response.SetBody(body)
	c := plugintest.NewContext(fc)
	c.Consumer = alice
	if err := p.OnResponse(c); err != nil {
		tb.Fatal(err)
	}
	plugintest.Release(c)
}

// BenchmarkHeadersAndBody: remove a header and a body field, rename one,
// add a header and a field from a template, on a 120-byte JSON body.
func BenchmarkHeadersAndBody(b *testing.B) {
	p := mustBuild(b, conf)
	fc := &fasthttp.RequestCtx{}
	body := []byte(benchBody)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		benchRun(b, p, fc, body, "")
	}
}

// BenchmarkDecompressEdit: the same on a gzip body (decoded, edited, sent
// decoded).
func BenchmarkDecompressEdit(b *testing.B) {
	p := mustBuild(b, "decompress = true\n"+conf)
	comp, err := compress.NewCompressor(compress.Gzip, 5)
	if err != nil {
		b.Fatal(err)
	}
	zipped := comp.Append(nil, []byte(benchBody))
	fc := &fasthttp.RequestCtx{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		benchRun(b, p, fc, zipped, "gzip")
	}
}

func TestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations are counted without -race")
	}
	p := mustBuild(t, conf)
	fc := &fasthttp.RequestCtx{}
	body := []byte(benchBody)
	benchRun(t, p, fc, body, "")
	if n := testing.AllocsPerRun(100, func() { benchRun(t, p, fc, body, "") }); n != 0 {
		t.Fatalf("%v allocations per response, want 0", n)
	}
}
