package redirect

import (
	"testing"

	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/valyala/fasthttp"
)

func benchRedirect(tb testing.TB, p *Plugin, fc *fasthttp.RequestCtx) {
	fc.Request.Reset()
	fc.Response.Reset()
	fc.Request.SetRequestURI("/docs/v1/guide/intro?lang=fr")
	fc.Request.Header.SetHost("docs.example.com")
	c := plugintest.NewContext(fc)
	if err := p.OnRequest(c); err != nil {
		tb.Fatal(err)
	}
	plugintest.Release(c)
}

// BenchmarkCaptures: a redirect with a regex capture and the query kept
// (regexp allocates the capture indexes: one allocation).
func BenchmarkCaptures(b *testing.B) {
	p := mustBuild(b, "from = '^/docs/v1/(.*)$'\nto = \"https://docs.example.com/v2/$1\"\nkeep_query = true")
	fc := &fasthttp.RequestCtx{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		benchRedirect(b, p, fc)
	}
}

// BenchmarkHTTPS: the https redirect of a plain-HTTP request.
func BenchmarkHTTPS(b *testing.B) {
	p := mustBuild(b, "https = true\nkeep_query = true")
	fc := &fasthttp.RequestCtx{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		benchRedirect(b, p, fc)
	}
}

func TestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations are counted without -race")
	}
	for conf, want := range map[string]float64{
		"https = true\nkeep_query = true":                                   0,
		"to = \"https://docs.example.com/\"\nkeep_query = true":             0,
		"from = '^/docs/v1/(.*)$'\nto = \"https://docs.example.com/v2/$1\"": 1,
	} {
		p := mustBuild(t, conf)
		fc := &fasthttp.RequestCtx{}
		benchRedirect(t, p, fc)
		if n := testing.AllocsPerRun(100, func() { benchRedirect(t, p, fc) }); n > want {
			t.Errorf("%s: %v allocations, want %v", conf, n, want)
		}
	}
}
