package requesttransformer

import (
	"bytes"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/valyala/fasthttp"
)

// build returns the plugin configured by the TOML text of its table.
func build(tb testing.TB, tomlText string) (*Plugin, error) {
	tb.Helper()
	var raw map[string]any
	if _, err := toml.Decode(tomlText, &raw); err != nil {
		tb.Fatal(err)
	}
	inst, err := New(plugin.Spec{Name: "request-transformer", Config: config.NewTable("config", raw)})
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

// run sends a request through the plugin's request phase; prep sets it up.
func run(t *testing.T, p *Plugin, prep func(fc *fasthttp.RequestCtx, c *plugin.Context)) (*fasthttp.RequestCtx, *plugin.Context, error) {
	t.Helper()
	fc := &fasthttp.RequestCtx{}
	fc.Request.SetRequestURI("/v1/users/7?debug=1&page=2")
	fc.Request.Header.SetHost("api.example.com")
	c := plugintest.NewContext(fc)
	t.Cleanup(func() { plugintest.Release(c) })
	if prep != nil {
		prep(fc, c)
	}
	err := p.OnRequest(c)
	return fc, c, err
}

func TestHeaderOperations(t *testing.T) {
	p := mustBuild(t, `
[remove]
headers = ["X-Debug"]
[rename]
headers = { "X-Old" = "X-New" }
[replace]
headers = { "X-Only-If-Present" = "replaced", "X-Absent" = "never" }
[set]
headers = { "X-Tenant" = "$(ctx.tenant)", "X-User" = "$(consumer.name)", "X-Page" = "p$(query.page)", "X-Missing" = "$(header.x-nope)" }
[add]
headers = { "X-Kept" = "not this", "X-Added" = "$(request.host)" }
[append]
headers = { "X-Tag" = "b" }
`)
	fc, c, err := run(t, p, func(fc *fasthttp.RequestCtx, c *plugin.Context) {
		h := &fc.Request.Header
		h.Set("X-Debug", "1")
		h.Add("X-Old", "o1")
		h.Add("X-Old", "o2")
		h.Set("X-New", "overwritten")
		h.Set("X-Only-If-Present", "before")
		h.Set("X-Kept", "kept")
		h.Set("X-Tag", "a")
		c.SetValue("tenant", "acme")
		c.Consumer = &consumer.Consumer{Name: "alice"}
	})
	if err != nil {
		t.Fatal(err)
	}
	h := &fc.Request.Header
	for name, want := range map[string]string{
		"X-Debug": "", "X-Old": "", "X-Only-If-Present": "replaced", "X-Absent": "", "X-Tenant": "acme",
		"X-User": "alice", "X-Page": "p2", "X-Missing": "", "X-Kept": "kept", "X-Added": "api.example.com",
	} {
		if got := string(h.Peek(name)); got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
	if got := joined(h.PeekAll("X-New")); got != "o1,o2" {
		t.Errorf("renamed X-New: got %q, want the two lines of X-Old", got)
	}
	if got := joined(h.PeekAll("X-Tag")); got != "a,b" {
		t.Errorf("appended X-Tag: got %q, want a,b", got)
	}
	// The values from templates are in the cache key: a cache step after
	// this one keeps tenants apart.
	var parts []string
	c.VisitCacheKey(func(b []byte) { parts = append(parts, string(b)) })
	if got := strings.Join(parts, "|"); got != "X-Page: p2|X-Tenant: acme|X-User: alice|X-Added: api.example.com" {
		t.Errorf("cache key parts: got %q", got)
	}
}

func joined(vs [][]byte) string {
	var s []string
	for _, v := range vs {
		s = append(s, string(v))
	}
	return strings.Join(s, ",")
}

// TestHeaderValueSplitting: a value from the request holding a line break
// is never set (it could add a header of the client's choosing upstream).
func TestHeaderValueSplitting(t *testing.T) {
	p := mustBuild(t, `
[set]
headers = { "X-Who" = "$(ctx.who)" }
`)
	fc, _, err := run(t, p, func(_ *fasthttp.RequestCtx, c *plugin.Context) {
		c.SetValue("who", "bob\r\nX-Admin: true")
	})
	if err != nil {
		t.Fatal(err)
	}
	if v := fc.Request.Header.Peek("X-Who"); v != nil {
		t.Fatalf("X-Who set to %q", v)
	}
}

func TestQueryOperations(t *testing.T) {
	p := mustBuild(t, `
[remove]
query = ["debug"]
[rename]
query = { "page" = "p" }
[set]
query = { "v" = "2", "from" = "$(header.x-src)" }
[add]
query = { "p" = "ignored", "lang" = "en" }
[append]
query = { "tag" = "x" }
`)
	fc, _, err := run(t, p, func(fc *fasthttp.RequestCtx, _ *plugin.Context) {
		fc.Request.Header.Set("X-Src", "a b&c")
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(fc.Request.URI().RequestURI()), "/v1/users/7?p=2&from=a+b%26c&v=2&lang=en&tag=x"; got != want {
		t.Fatalf("query: got %q, want %q", got, want)
	}
}

func TestBodyOperations(t *testing.T) {
	p := mustBuild(t, `
[remove]
body = ["password", "card.number"]
[rename]
body = { "user" = "login" }
[set]
body = { "meta.source" = "gateway", "meta.tenant" = "$(header.x-tenant)", "meta.version" = 2, "flags" = ["a"] }
[add]
body = { "login" = "ignored" }
[append]
body = { "tags" = "new" }
`)
	cases := []struct {
		name, ct, body, want string
	}{
		{"json", "application/json", `{"user":"bob","password":"x","card":{"number":"4111","exp":"12/30"},"tags":["old"]}`,
			`{"login":"bob","card":{"exp":"12/30"},"tags":["old","new"],"flags":["a"],"meta":{"source":"gateway","tenant":"acme","version":2}}`},
		{"+json with charset", "application/vnd.api+json; charset=utf-8", `{"user":"bob"}`,
			`{"login":"bob","flags":["a"],"meta":{"source":"gateway","tenant":"acme","version":2},"tags":["new"]}`},
		{"not JSON passes untouched", "application/json", `{"user": bro`, `{"user": bro`},
		{"bare string passes untouched", "application/json", `"hello"`, `"hello"`},
		{"other content type untouched", "text/plain", `{"user":"bob"}`, `{"user":"bob"}`},
		{"empty body untouched", "application/json", ``, ``},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fc, _, err := run(t, p, func(fc *fasthttp.RequestCtx, _ *plugin.Context) {
				fc.Request.Header.SetMethod("POST")
				fc.Request.Header.SetContentType(tc.ct)
				fc.Request.Header.Set("X-Tenant", "acme")
				fc.Request.SetBodyString(tc.body)
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := string(fc.Request.Body()); got != tc.want {
				t.Fatalf("body:\ngot  %s\nwant %s", got, tc.want)
			}
		})
	}
	t.Run("operation with a missing value skipped", func(t *testing.T) {
		fc, _, _ := run(t, p, func(fc *fasthttp.RequestCtx, _ *plugin.Context) {
			fc.Request.Header.SetContentType("application/json")
			fc.Request.SetBodyString(`{"user":"bob","password":"x"}`)
		})
		want := `{"login":"bob","flags":["a"],"meta":{"source":"gateway","version":2},"tags":["new"]}`
		if got := string(fc.Request.Body()); got != want {
			t.Fatalf("body:\ngot  %s\nwant %s", got, want)
		}
	})
	t.Run("compressed body untouched", func(t *testing.T) {
		fc, _, _ := run(t, p, func(fc *fasthttp.RequestCtx, _ *plugin.Context) {
			fc.Request.Header.SetContentType("application/json")
			fc.Request.Header.Set("Content-Encoding", "gzip")
			fc.Request.SetBodyString(`{"user":"bob"}`)
		})
		if got := string(fc.Request.Body()); got != `{"user":"bob"}` {
			t.Fatalf("body: got %s", got)
		}
	})
	t.Run("streamed body not read", func(t *testing.T) {
		src := strings.NewReader(`{"user":"bob"}`)
		fc, _, _ := run(t, p, func(fc *fasthttp.RequestCtx, _ *plugin.Context) {
			fc.Request.Header.SetContentType("application/json")
			fc.Request.SetBodyStream(src, -1)
		})
		if !fc.Request.IsBodyStream() || src.Len() != len(`{"user":"bob"}`) {
			t.Fatalf("the streamed body was read (left %d bytes) or replaced (stream %v)", src.Len(), fc.Request.IsBodyStream())
		}
	})
}

func TestMethodAndPath(t *testing.T) {
	p := mustBuild(t, `
method = "POST"
# "${" is an environment variable in moongate's TOML: "$${" writes "${".
path = { from = '^/v1/(?P<rest>.*)$', to = "/api/$${rest}" }
[set]
headers = { "X-Rest" = "$1" }
`)
	fc, c, err := run(t, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(fc.Request.Header.Method()); got != "POST" {
		t.Fatalf("method %q", got)
	}
	if got := string(c.Path()); got != "/api/users/7" {
		t.Fatalf("path %q", got)
	}
	if got := string(fc.Request.Header.Peek("X-Rest")); got != "users/7" {
		t.Fatalf("X-Rest %q", got)
	}
	// A path the regex does not match is left alone, and so are the
	// values that need its captures.
	fc, c, err = run(t, p, func(fc *fasthttp.RequestCtx, _ *plugin.Context) { fc.Request.SetRequestURI("/v2/x") })
	if err != nil || string(c.Path()) != "/v2/x" || fc.Request.Header.Peek("X-Rest") != nil {
		t.Fatalf("unmatched path: err %v, path %q, X-Rest %q", err, c.Path(), fc.Request.Header.Peek("X-Rest"))
	}
}

// TestRewriteRefusesEscapes: a rewritten path is checked before it goes
// upstream. A value from the request holding ".." would otherwise be
// resolved by the path normalization and climb out of the prefix the
// template put it under.
func TestRewriteRefusesEscapes(t *testing.T) {
	p := mustBuild(t, `path = { to = "/tenants/$(header.x-tenant)/data" }`)
	for _, tc := range []struct {
		tenant string
		want   string // the path, or "400"
	}{
		{"acme", "/tenants/acme/data"},
		{"..", "400"},
		{"../../admin", "400"},
		{"a/./b", "400"},
		{"a;x=1", "400"},
		{`a\b`, "400"},
		{"a\x01b", "400"},
		{"a b", "/tenants/a b/data"},
		{"%2e%2e", "/tenants/%2e%2e/data"}, // a literal %: sent as %252e, never decoded to ".."
	} {
		_, c, err := run(t, p, func(fc *fasthttp.RequestCtx, _ *plugin.Context) {
			fc.Request.Header.Set("X-Tenant", tc.tenant)
		})
		got := string(c.Path())
		if e, ok := err.(*plugin.Error); ok {
			got = "400"
			if e.Status != 400 {
				t.Fatalf("%q: status %d", tc.tenant, e.Status)
			}
		} else if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("tenant %q: got %q, want %q", tc.tenant, got, tc.want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ toml, want string }{
		{`method = "GE T"`, "method: not a method"},
		{`path = { to = "api/$1" }`, `path.to: must start with "/"`},
		{`path = { from = "^/v1/(.*", to = "/x" }`, "path.from: error parsing regexp"},
		{`path = { to = "/api/$1" }`, "needs a regex"},
		{`path = { from = "^/v1/(.*)$", to = "/api/$2" }`, "path.to"},
		{"[set]\nheaders = { \"Content-Length\" = \"1\" }", "set.headers: \"Content-Length\" is the gateway's"},
		{"[set]\nheaders = { \"Host\" = \"x\" }", "set.headers: \"Host\" is the upstream target's"},
		{"[set]\nheaders = { \"X-A\" = \"$(headers.x)\" }", `did you mean "header"`},
		{"[remove]\nbody = [\"a..b\"]", "remove.body: path"},
		{"[set]\nbody = { \"a\" = \"$(nope.x)\" }", "set.body"},
		{"[sett]\nheaders = {}", "sett"},
	} {
		_, err := build(t, tc.toml)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.toml, err, tc.want)
		}
	}
}

func TestCheckPath(t *testing.T) {
	for p, want := range map[string]string{
		"/a/b": "", "/a//b": "", "/": "", "/a.b/..c/.d": "",
		"/a/../b": "dot segment", "/a/..": "dot segment", "/./a": "dot segment", "/a\x7f": "control character",
	} {
		if got := checkPath([]byte(p), true); got != want {
			t.Errorf("%q: got %q, want %q", p, got, want)
		}
	}
	if got := checkPath([]byte("/a;b"), false); got != "" {
		t.Errorf("';' without strict paths: %q", got)
	}
}

var _ = bytes.Equal
