package compression

import (
	"bytes"
	"io"
	"strconv"
	"testing"

	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/valyala/fasthttp"
)

// benchRespond compresses body through the step's response phase.
func benchRespond(tb testing.TB, p *Plugin, fc *fasthttp.RequestCtx, body []byte, accept string) {
	fc.Request.Reset()
	fc.Response.Reset()
	fc.Request.SetRequestURI("/list")
	fc.Request.Header.Set("Accept-Encoding", accept)
	fc.Response.Header.SetContentType("application/json")
	fc.Response.SetBody(body)
	c := plugintest.NewContext(fc)
	if err := p.OnResponse(c); err != nil {
		tb.Fatal(err)
	}
	plugintest.Release(c)
}

// BenchmarkCompress is the whole step per response at the default levels,
// by coding and body size; ns/KB is the cost per KB of body (the
// response's setup, about 0.2 µs, included).
func BenchmarkCompress(b *testing.B) {
	p := mustBuild(b, "min_size = 0")
	for _, size := range []int{1 << 10, 10 << 10, 100 << 10} {
		body := jsonDoc(size)
		for _, accept := range []string{"zstd", "br", "gzip"} {
			b.Run(accept+"/"+strconv.Itoa(size>>10)+"KB", func(b *testing.B) {
				fc := &fasthttp.RequestCtx{}
				benchRespond(b, p, fc, body, accept)
				if string(fc.Response.Header.Peek("Content-Encoding")) != accept {
					b.Fatalf("not compressed with %s", accept)
				}
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					benchRespond(b, p, fc, body, accept)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(float64(len(body))/1024), "ns/KB")
				b.ReportMetric(float64(len(fc.Response.Body()))/float64(len(body)), "ratio")
			})
		}
	}
}

// BenchmarkSkip is a response the step leaves alone (a client without
// Accept-Encoding): the cost every response pays.
func BenchmarkSkip(b *testing.B) {
	p := mustBuild(b, "")
	body := jsonDoc(10 << 10)
	fc := &fasthttp.RequestCtx{}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		benchRespond(b, p, fc, body, "")
	}
}

// BenchmarkBaseline is the setup of BenchmarkSkip alone (a 10 KB
// response), to subtract.
func BenchmarkBaseline(b *testing.B) {
	body := jsonDoc(10 << 10)
	fc := &fasthttp.RequestCtx{}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		fc.Request.Reset()
		fc.Response.Reset()
		fc.Request.SetRequestURI("/list")
		fc.Request.Header.Set("Accept-Encoding", "")
		fc.Response.Header.SetContentType("application/json")
		fc.Response.SetBody(body)
		c := plugintest.NewContext(fc)
		plugintest.Release(c)
	}
}

// BenchmarkStream compresses a 100 KB streamed body (gzip), read in the
// server's 4 KB chunks.
func BenchmarkStream(b *testing.B) {
	p := mustBuild(b, `encodings = ["gzip"]`)
	body := jsonDoc(100 << 10)
	fc := &fasthttp.RequestCtx{}
	buf := make([]byte, 4<<10)
	src := &takeable{}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		fc.Request.Reset()
		fc.Response.Reset()
		fc.Request.Header.Set("Accept-Encoding", "gzip")
		fc.Response.Header.SetContentType("application/json")
		src.r = bytes.NewReader(body)
		fc.Response.SetBodyStream(src, len(body))
		c := plugintest.NewContext(fc)
		if err := p.OnResponse(c); err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := fc.Response.BodyStream().Read(buf); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
		_ = fc.Response.CloseBodyStream()
		plugintest.Release(c)
	}
}

// TestAllocations: compressing a body in memory, and leaving one alone,
// allocate nothing per response.
func TestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations are counted without -race")
	}
	p := mustBuild(t, "")
	body := jsonDoc(10 << 10)
	fc := &fasthttp.RequestCtx{}
	for _, accept := range []string{"zstd", "br", "gzip", ""} {
		benchRespond(t, p, fc, body, accept)
		if n := testing.AllocsPerRun(50, func() { benchRespond(t, p, fc, body, accept) }); n != 0 {
			t.Errorf("Accept-Encoding %q: %v allocations per response, want 0", accept, n)
		}
	}
}
