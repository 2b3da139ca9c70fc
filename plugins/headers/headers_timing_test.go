package headers

import (
	"testing"

	"github.com/moongate/moongate/core/plugin/plugintest"
)

const benchTOML = `
[[plugins]]
name = "headers"
[plugins.config.request]
set = { "X-Gateway" = "moongate" }
add = { "X-Tag" = "a" }
remove = ["X-Debug"]
[plugins.config.response]
set = { "Strict-Transport-Security" = "max-age=63072000" }
remove = ["Server"]
`

// BenchmarkHeaders runs both phases on one request (the header the
// request phase adds is taken out again, so the request does not grow).
func BenchmarkHeaders(b *testing.B) {
	p := plugintest.New(b, benchTOML).Instances()[0].(*Plugin)
	c := plugintest.ContextFor(plugintest.Request{Header: []string{"X-Debug", "1"}})
	defer plugintest.Release(c)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Request.Header.Del("X-Tag")
		p.OnRequest(c)
		p.OnResponse(c)
	}
}

func TestHeadersAllocateNothing(t *testing.T) {
	p := plugintest.New(t, benchTOML).Instances()[0].(*Plugin)
	c := plugintest.ContextFor(plugintest.Request{Header: []string{"X-Debug", "1"}})
	defer plugintest.Release(c)
	plugintest.NoAllocs(t, func() {
		c.Request.Header.Set("X-Debug", "1")
		c.Request.Header.Del("X-Tag")
		c.Response.Header.Set("Server", "nginx")
		p.OnRequest(c)
		p.OnResponse(c)
	})
}
