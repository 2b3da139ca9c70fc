package cache_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/core/plugin"
	"github.com/valyala/fasthttp"
)

// Test steps: "test-consumer" sets the request's consumer from the
// X-Test-Consumer header (as an auth step would); "test-stream" answers
// with a streamed body (as upstreams do for SSE and large downloads).
func init() {
	plugin.Register("test-consumer", func(plugin.Spec) (any, error) { return consumerStep{}, nil })
	plugin.Register("test-stream", func(plugin.Spec) (any, error) { return streamStep{}, nil })
}

type consumerStep struct{}

func (consumerStep) OnRequest(c *plugin.Context) error {
	if n := c.Request.Header.Peek("X-Test-Consumer"); len(n) > 0 {
		c.Consumer = &consumer.Consumer{Name: string(n)}
	}
	return nil
}

type streamStep struct{}

// Answers implements plugin.Responder: the step answers every request, so
// its route needs no upstream.
func (streamStep) Answers() plugin.Answer { return plugin.AnswerAlways }

func (streamStep) OnRequest(c *plugin.Context) error {
	c.Response.Header.Set("Cache-Control", "max-age=60")
	c.Response.SetBodyStream(strings.NewReader("streamed body"), -1)
	c.Stop()
	return nil
}

func TestStreamedResponseBypasses(t *testing.T) {
	g := gatewaytest.Start(t, `
[[routes]]
name = "s"
paths = ["/"]
  [[routes.plugins]]
  name = "cache"
  [[routes.plugins]]
  name = "test-stream"
`)
	for i := 0; i < 2; i++ {
		expect(t, g, "/s", "BYPASS", 200, "streamed body")
	}
	if n := g.Cache().Stats().Sets; n != 0 {
		t.Fatalf("%d values stored for a streamed response", n)
	}
}

func TestAuthorization(t *testing.T) {
	t.Run("not shared by default", func(t *testing.T) {
		h, _ := counter("Cache-Control", "max-age=60")
		g, up := setup(t, h, "")
		expect(t, g, "/p", "MISS", 200, "n=1", "Authorization", "Bearer alice")
		expect(t, g, "/p", "MISS", 200, "n=2", "Authorization", "Bearer bob")
		expect(t, g, "/p", "MISS", 200, "n=3")
		if up.Hits() != 3 {
			t.Fatalf("upstream hits = %d, want 3", up.Hits())
		}
	})
	for _, cc := range []string{"public, max-age=60", "s-maxage=60", "max-age=60, must-revalidate"} {
		t.Run("shared when the response says "+cc, func(t *testing.T) {
			h, _ := counter("Cache-Control", cc)
			g, _ := setup(t, h, "")
			expect(t, g, "/p", "MISS", 200, "n=1", "Authorization", "Bearer alice")
			expect(t, g, "/p", "HIT", 200, "n=1", "Authorization", "Bearer bob")
		})
	}
	t.Run("a consumer set by an auth step counts as Authorization", func(t *testing.T) {
		h, _ := counter("Cache-Control", "max-age=60")
		up := gatewaytest.StartUpstream(t, h)
		g := gatewaytest.Start(t, fmt.Sprintf(`
[[upstreams]]
name = "up"
targets = [{ url = %q }]
[[routes]]
paths = ["/"]
upstream = "up"
  [[routes.plugins]]
  name = "test-consumer"
  [[routes.plugins]]
  name = "cache"
`, up.URL))
		expect(t, g, "/p", "MISS", 200, "n=1", "X-Test-Consumer", "alice")
		expect(t, g, "/p", "MISS", 200, "n=2", "X-Test-Consumer", "bob")
		expect(t, g, "/p", "MISS", 200, "n=3", "X-Test-Consumer", "alice")
	})
	t.Run("key_consumer gives each consumer its own entries", func(t *testing.T) {
		h, _ := counter("Cache-Control", "max-age=60")
		up := gatewaytest.StartUpstream(t, h)
		g := gatewaytest.Start(t, fmt.Sprintf(`
[[upstreams]]
name = "up"
targets = [{ url = %q }]
[[routes]]
paths = ["/"]
upstream = "up"
  [[routes.plugins]]
  name = "test-consumer"
  [[routes.plugins]]
  name = "cache"
  [routes.plugins.config]
  key_consumer = true
`, up.URL))
		expect(t, g, "/p", "MISS", 200, "n=1", "Authorization", "k1", "X-Test-Consumer", "alice")
		expect(t, g, "/p", "MISS", 200, "n=2", "Authorization", "k2", "X-Test-Consumer", "bob")
		expect(t, g, "/p", "HIT", 200, "n=1", "Authorization", "k1", "X-Test-Consumer", "alice")
		expect(t, g, "/p", "HIT", 200, "n=2", "Authorization", "k2", "X-Test-Consumer", "bob")
		expect(t, g, "/p", "MISS", 200, "n=3")
	})
}

func TestUnsafeMethodsInvalidate(t *testing.T) {
	var location string
	h, _ := counter("Cache-Control", "max-age=60")
	g, _ := setup(t, func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Method()) {
		case "POST", "PUT", "DELETE":
			if string(ctx.Path()) == "/fail" {
				ctx.SetStatusCode(500)
				return
			}
			if location != "" {
				ctx.Response.Header.Set("Location", location)
			}
			ctx.SetStatusCode(201)
			return
		}
		h(ctx)
	}, "")
	expect(t, g, "/items/1", "MISS", 200, "n=1")
	expect(t, g, "/items/1?v=2", "MISS", 200, "n=2")
	expect(t, g, "/items/1", "HIT", 200, "n=1")
	gatewaytest.Do(t, "PUT", g.URL+"/items/1", []byte("x"))
	expect(t, g, "/items/1", "MISS", 200, "n=3")
	expect(t, g, "/items/1?v=2", "MISS", 200, "n=4")

	expect(t, g, "/items/2", "MISS", 200, "n=5")
	expect(t, g, "/other", "MISS", 200, "n=6")
	location = g.URL + "/items/2"
	gatewaytest.Do(t, "POST", g.URL+"/items", []byte("x"))
	expect(t, g, "/items/2", "MISS", 200, "n=7")
	location = "http://elsewhere.example/other"
	gatewaytest.Do(t, "POST", g.URL+"/items", []byte("x"))
	expect(t, g, "/other", "HIT", 200, "n=6")

	expect(t, g, "/fail", "MISS", 200, "n=8")
	gatewaytest.Do(t, "DELETE", g.URL+"/fail", nil)
	expect(t, g, "/fail", "HIT", 200, "n=8")
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ conf, want string }{
		{"force = true", "routes[0].plugins[0].config.ttl: must be set with force = true"},
		{`methods = ["POST"]`, "routes[0].plugins[0].config.methods[0]: method POST cannot be cached"},
		{`statuses = [99]`, "routes[0].plugins[0].config.statuses[0]: must be between 100 and 599"},
		{`purge = { ips = ["nope"] }`, `routes[0].plugins[0].config.purge.ips[0]: is not an IP address or CIDR: "nope"`},
		{`ttl = 5`, "routes[0].plugins[0].config.ttl: expected a duration string"},
		{`unknown = 1`, "routes[0].plugins[0].config.unknown"},
		{`max_object_size = "65MB"`, "routes[0].plugins[0].config.max_object_size: must be at most a quarter of [cache] size (256MB)"},
		{`targeted_cache_control = ["CDN Cache-Control"]`, `routes[0].plugins[0].config.targeted_cache_control[0]: invalid header name "CDN Cache-Control"`},
		{`key_ctx = ["tenant", ""]`, `routes[0].plugins[0].config.key_ctx[1]: must be the name of a per-request value`},
	} {
		t.Run(tc.conf, func(t *testing.T) {
			err := buildError(t, gatewayTOML("http://127.0.0.1:1", tc.conf, ""))
			if !strings.Contains(err, tc.want) || !strings.Contains(err, "moongate.toml:") {
				t.Fatalf("error:\n%s\nwant it to name the file and %q", err, tc.want)
			}
		})
	}
}
