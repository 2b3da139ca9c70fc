package cache_test

import (
	"bufio"
	"bytes"
	"fmt"
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/valyala/fasthttp"
)

// TestStreamedUpstreamResponses runs the cache in front of an upstream
// whose responses the gateway streams (stream_threshold = "1KB"): one of
// announced length within max_object_size is read whole and cached; a
// chunked one over the threshold and an event stream are passed through
// untouched (BYPASS); a chunked one within the threshold is cached.
func TestStreamedUpstreamResponses(t *testing.T) {
	body := bytes.Repeat([]byte("z"), 4<<10)
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Cache-Control", "max-age=60")
		switch string(ctx.Path()) {
		case "/fixed":
			ctx.SetBody(body)
		case "/chunked":
			ctx.SetBodyStreamWriter(func(w *bufio.Writer) { w.Write(body) })
		case "/Events":
			// Media types are case-insensitive: still an event stream,
			// with a length announced this time.
			ctx.SetContentType("Text/Event-Stream")
			ctx.SetBodyString("data: two\n\n")
		case "/small-chunked":
			ctx.SetBodyStreamWriter(func(w *bufio.Writer) { w.WriteString("small") })
		case "/events":
			ctx.SetContentType("text/event-stream")
			ctx.SetBodyStreamWriter(func(w *bufio.Writer) { fmt.Fprint(w, "data: one\n\n") })
		}
	})
	g := gatewaytest.Start(t, fmt.Sprintf(`
[[upstreams]]
name = "up"
targets = [{ url = %q }]
stream_threshold = "1KB"
[[routes]]
name = "r"
paths = ["/"]
upstream = "up"
  [[routes.plugins]]
  name = "cache"
`, up.URL))
	expect(t, g, "/fixed", "MISS", 200, string(body))
	expect(t, g, "/fixed", "HIT", 200, string(body))
	expect(t, g, "/chunked", "BYPASS", 200, string(body))
	expect(t, g, "/chunked", "BYPASS", 200, string(body))
	expect(t, g, "/events", "BYPASS", 200, "data: one\n\n")
	expect(t, g, "/events", "BYPASS", 200, "data: one\n\n")
	expect(t, g, "/Events", "BYPASS", 200, "data: two\n\n")
	expect(t, g, "/Events", "BYPASS", 200, "data: two\n\n")
	// A chunked body that ends within stream_threshold arrives buffered.
	expect(t, g, "/small-chunked", "MISS", 200, "small")
	expect(t, g, "/small-chunked", "HIT", 200, "small")
	if up.Hits() != 8 {
		t.Fatalf("upstream hits = %d, want 8", up.Hits())
	}
}
