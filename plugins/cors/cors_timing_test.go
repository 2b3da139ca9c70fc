package cors

import (
	"testing"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/valyala/fasthttp"
)

// BenchmarkCORS is an allowed cross-origin GET: both phases.
func BenchmarkCORS(b *testing.B) {
	inst, err := New(plugin.Spec{Config: config.NewTable("config", map[string]any{
		"origins": []any{"https://app.example.com"}, "origin_patterns": []any{"https://*.tenants.example.com"}, "credentials": true})})
	if err != nil {
		b.Fatal(err)
	}
	p := inst.(*Plugin)
	fc := &fasthttp.RequestCtx{}
	fc.Request.Header.SetMethod("GET")
	fc.Request.Header.Set("Origin", "https://acme.tenants.example.com")
	c := plugintest.NewContext(fc)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c.SetValue(valueKey, nil)
		p.OnRequest(c)
		p.OnResponse(c)
	}
	if string(c.Response.Header.Peek("Access-Control-Allow-Origin")) != "https://acme.tenants.example.com" {
		b.Fatal("not allowed")
	}
}
