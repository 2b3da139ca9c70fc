package responsetransformer

import (
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/moongate/moongate/core/compress"
	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/valyala/fasthttp"
)

func build(tb testing.TB, tomlText string) (*Plugin, error) {
	tb.Helper()
	var raw map[string]any
	if _, err := toml.Decode(tomlText, &raw); err != nil {
		tb.Fatal(err)
	}
	inst, err := New(plugin.Spec{Name: "response-transformer", Config: config.NewTable("config", raw)})
	if err != nil {
		return nil, err
	}
	return inst.(*Plugin), nil
}

func mustBuild(tb testing.TB, tomlText string) *Plugin {
	tb.Helper()
	p, err := build(tb, tomlText)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// respond runs the response phase on a response prep fills in.
func respond(t *testing.T, p *Plugin, prep func(fc *fasthttp.RequestCtx, c *plugin.Context)) *fasthttp.Response {
	t.Helper()
	fc := &fasthttp.RequestCtx{}
	fc.Request.SetRequestURI("/users/7")
	c := plugintest.NewContext(fc)
	t.Cleanup(func() { plugintest.Release(c) })
	fc.Response.Header.SetContentType("application/json")
	prep(fc, c)
	if err := p.OnResponse(c); err != nil {
		t.Fatal(err)
	}
	return &fc.Response
}

const conf = `
[remove]
headers = ["Server"]
body = ["password"]
[rename]
body = { "name" = "full_name" }
[add]
headers = { "X-Served-For" = "$(consumer.name)" }
body = { "meta.served_for" = "$(consumer.name)" }
`

func TestHeadersAndBody(t *testing.T) {
	p := mustBuild(t, conf)
	r := respond(t, p, func(fc *fasthttp.RequestCtx, c *plugin.Context) {
		c.Consumer = &consumer.Consumer{Name: "alice"}
		fc.Response.Header.Set("Server", "nginx")
		fc.Response.Header.Set("ETag", `"v1"`)
		fc.Response.SetBodyString(`{"name":"Bob","password":"x"}`)
	})
	if got, want := string(r.Body()), `{"full_name":"Bob","meta":{"served_for":"alice"}}`; got != want {
		t.Fatalf("body: got %s, want %s", got, want)
	}
	if len(r.Header.Peek("Server")) != 0 || string(r.Header.Peek("X-Served-For")) != "alice" {
		t.Fatalf("headers: %s", r.Header.String())
	}
	if got := string(r.Header.Peek("ETag")); got != `W/"v1"` {
		t.Fatalf("ETag %s: an edited body keeps only a weak validator", got)
	}
}

func TestBodiesLeftAlone(t *testing.T) {
	p := mustBuild(t, conf)
	gz := compress.Gzip
	comp, err := compress.NewCompressor(gz, 5)
	if err != nil {
		t.Fatal(err)
	}
	zipped := comp.Append(nil, []byte(`{"password":"x"}`))
	for _, tc := range []struct {
		name string
		prep func(fc *fasthttp.RequestCtx)
		want string
	}{
		{"not JSON", func(fc *fasthttp.RequestCtx) { fc.Response.SetBodyString(`{"password": oops`) }, `{"password": oops`},
		{"other type", func(fc *fasthttp.RequestCtx) {
			fc.Response.Header.SetContentType("text/html")
			fc.Response.SetBodyString(`{"password":"x"}`)
		}, `{"password":"x"}`},
		{"HEAD", func(fc *fasthttp.RequestCtx) {
			fc.Request.Header.SetMethod("HEAD")
			fc.Response.SetBodyString(`{"password":"x"}`)
		}, `{"password":"x"}`},
		{"304", func(fc *fasthttp.RequestCtx) {
			fc.Response.SetStatusCode(304)
			fc.Response.SetBodyString(`{"password":"x"}`)
		}, `{"password":"x"}`},
		{"compressed", func(fc *fasthttp.RequestCtx) {
			fc.Response.Header.Set("Content-Encoding", "gzip")
			fc.Response.SetBody(zipped)
		}, string(zipped)},
		{"unknown coding", func(fc *fasthttp.RequestCtx) {
			fc.Response.Header.Set("Content-Encoding", "compress")
			fc.Response.SetBodyString(`{"password":"x"}`)
		}, `{"password":"x"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := respond(t, p, func(fc *fasthttp.RequestCtx, _ *plugin.Context) { tc.prep(fc) })
			if got := string(r.Body()); got != tc.want {
				t.Fatalf("body: got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDecompress(t *testing.T) {
	p := mustBuild(t, "decompress = true\nmax_body_size = \"64B\"\n"+conf)
	for _, e := range []compress.Encoding{compress.Gzip, compress.Brotli, compress.Zstd} {
		comp, err := compress.NewCompressor(e, compress.DefaultLevel(e))
		if err != nil {
			t.Fatal(err)
		}
		r := respond(t, p, func(fc *fasthttp.RequestCtx, _ *plugin.Context) {
			fc.Response.Header.Set("Content-Encoding", e.String())
			fc.Response.SetBody(comp.Append(nil, []byte(`{"name":"Bob","password":"x"}`)))
		})
		if got, want := string(r.Body()), `{"full_name":"Bob"}`; got != want || len(r.Header.Peek("Content-Encoding")) != 0 {
			t.Fatalf("%s: body %q (want %q), Content-Encoding %q", e, got, want, r.Header.Peek("Content-Encoding"))
		}
		// A body that decodes past max_body_size (a small bomb) is left
		// as it came, compressed.
		big := comp.Append(nil, []byte(`{"pad":"`+strings.Repeat("a", 10000)+`"}`))
		r = respond(t, p, func(fc *fasthttp.RequestCtx, _ *plugin.Context) {
			fc.Response.Header.Set("Content-Encoding", e.String())
			fc.Response.SetBody(big)
		})
		if string(r.Body()) != string(big) || string(r.Header.Peek("Content-Encoding")) != e.String() {
			t.Fatalf("%s: a body over the limit was changed", e)
		}
	}
}

// TestStreamedNotHeldBack: a streamed body is not read (the client gets
// it as it comes); headers still change.
func TestStreamedNotHeldBack(t *testing.T) {
	p := mustBuild(t, conf)
	src := strings.NewReader(`{"password":"x"}`)
	r := respond(t, p, func(fc *fasthttp.RequestCtx, c *plugin.Context) {
		c.Consumer = &consumer.Consumer{Name: "alice"}
		fc.Response.Header.Set("Server", "x")
		fc.Response.SetBodyStream(src, -1)
	})
	if !r.IsBodyStream() || src.Len() != len(`{"password":"x"}`) {
		t.Fatal("the stream was read or replaced")
	}
	if len(r.Header.Peek("Server")) != 0 || string(r.Header.Peek("X-Served-For")) != "alice" {
		t.Fatalf("headers: %s", r.Header.String())
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ toml, want string }{
		{"[set]\nquery = { \"a\" = \"b\" }", "set.query: query arguments are not part of a response"},
		{"[set]\nheaders = { \"Transfer-Encoding\" = \"chunked\" }", "is the gateway's"},
		{"max_body_size = 0", "max_body_size: must be more than 0"},
		{"[set]\nheaders = { \"X-A\" = \"$1\" }", "needs a regex"},
	} {
		_, err := build(t, tc.toml)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.toml, err, tc.want)
		}
	}
}
