package requesttransformer

import (
	"testing"

	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/valyala/fasthttp"
)

const benchConfig = `
[remove]
headers = ["X-Debug"]
query = ["debug"]
body = ["password"]
[set]
headers = { "X-Gateway" = "moongate", "X-Tenant" = "$(header.x-tenant)" }
query = { "source" = "gateway" }
body = { "meta.tenant" = "$(header.x-tenant)", "meta.version" = 2 }
`

const benchBody = `{"user":"bob","password":"hunter2","items":[{"sku":"A-1","qty":2},{"sku":"B-7","qty":1}],"note":"leave at the door"}`

// benchRequest resets fc to the request the benchmarks transform.
func benchRequest(fc *fasthttp.RequestCtx, body string) {
	fc.Request.Reset()
	fc.Request.SetRequestURI("/v1/orders/7?debug=1&page=2")
	fc.Request.Header.SetMethod("POST")
	fc.Request.Header.SetHost("api.example.com")
	fc.Request.Header.SetContentType("application/json")
	fc.Request.Header.Set("X-Tenant", "acme")
	fc.Request.Header.Set("X-Debug", "1")
	fc.Request.SetBodyString(body)
}

func benchTransform(b *testing.B, conf string) {
	p := mustBuild(b, conf)
	fc := &fasthttp.RequestCtx{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		benchRequest(fc, benchBody)
		c := plugintest.NewContext(fc)
		if err := p.OnRequest(c); err != nil {
			b.Fatal(err)
		}
		plugintest.Release(c)
	}
}

// BenchmarkHeadersQueryBody: remove and set headers (one from a
// template), query arguments and JSON body fields of a 120-byte body.
func BenchmarkHeadersQueryBody(b *testing.B) { benchTransform(b, benchConfig) }

// BenchmarkHeaders: header operations alone.
func BenchmarkHeaders(b *testing.B) {
	benchTransform(b, `
[remove]
headers = ["X-Debug"]
[set]
headers = { "X-Gateway" = "moongate", "X-Tenant" = "$(header.x-tenant)" }
`)
}

// BenchmarkRewrite: a path rewrite with a regex capture (regexp allocates
// the capture indexes: one allocation).
func BenchmarkRewrite(b *testing.B) {
	benchTransform(b, `path = { from = "^/v1/(.*)$", to = "/api/$1" }`)
}

// BenchmarkBaseline is the request setup alone, to subtract.
func BenchmarkBaseline(b *testing.B) {
	fc := &fasthttp.RequestCtx{}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		benchRequest(fc, benchBody)
		c := plugintest.NewContext(fc)
		plugintest.Release(c)
	}
}

// TestAllocations: the common operations allocate nothing per request.
func TestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations are counted without -race")
	}
	for _, tc := range []struct {
		name, conf string
		want       float64
	}{
		{"headers, query and body", benchConfig, 0},
		{"path rewrite with a capture", `path = { from = "^/v1/(.*)$", to = "/api/$1" }`, 1},
		{"path rewrite without a regex", `path = { to = "/api/$(header.x-tenant)" }`, 0},
	} {
		p := mustBuild(t, tc.conf)
		fc := &fasthttp.RequestCtx{}
		var c *plugin.Context
		run := func() {
			benchRequest(fc, benchBody)
			c = plugintest.NewContext(fc)
			if err := p.OnRequest(c); err != nil {
				t.Fatal(err)
			}
			plugintest.Release(c)
		}
		run()
		if n := testing.AllocsPerRun(100, run); n > tc.want {
			t.Errorf("%s: %v allocations per request, want %v", tc.name, n, tc.want)
		}
	}
}
