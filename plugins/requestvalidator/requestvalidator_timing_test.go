package requestvalidator

import (
	"testing"

	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/valyala/fasthttp"
)

func benchValidate(tb testing.TB, p *Plugin, fc *fasthttp.RequestCtx, body string) {
	fc.Request.Reset()
	fc.Response.Reset()
	fc.Request.Header.SetMethod("POST")
	fc.Request.SetRequestURI("/orders?version=1")
	fc.Request.Header.Set("X-Tenant", "acme")
	fc.Request.Header.SetContentType("application/json")
	fc.Request.SetBodyString(body)
	c := plugintest.NewContext(fc)
	if err := p.OnRequest(c); err != nil {
		tb.Fatal(err)
	}
	plugintest.Release(c)
}

// BenchmarkValid: a valid 30-byte body against a small object schema,
// and the required header and query argument (the schema library decodes
// the body into Go values: it allocates).
func BenchmarkValid(b *testing.B) {
	p := mustBuild(b, conf)
	fc := &fasthttp.RequestCtx{}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		benchValidate(b, p, fc, `{"item":"book","qty":2}`)
	}
}

// BenchmarkInvalid: a body with three violations, answered with 400.
func BenchmarkInvalid(b *testing.B) {
	p := mustBuild(b, conf)
	fc := &fasthttp.RequestCtx{}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		benchValidate(b, p, fc, `{"item":"","qty":0,"x":1}`)
	}
}

// BenchmarkHeadersOnly: required headers and query arguments, no schema.
func BenchmarkHeadersOnly(b *testing.B) {
	p := mustBuild(b, "required_headers = [\"X-Tenant\"]\nrequired_query = [\"version\"]")
	fc := &fasthttp.RequestCtx{}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		benchValidate(b, p, fc, "")
	}
}

func TestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations are counted without -race")
	}
	p := mustBuild(t, "required_headers = [\"X-Tenant\"]\nrequired_query = [\"version\"]")
	fc := &fasthttp.RequestCtx{}
	benchValidate(t, p, fc, "")
	if n := testing.AllocsPerRun(100, func() { benchValidate(t, p, fc, "") }); n != 0 {
		t.Fatalf("%v allocations per request with required headers and query, want 0", n)
	}
}
