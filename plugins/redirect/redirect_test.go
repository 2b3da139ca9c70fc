package redirect

import (
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/moongate/moongate/core/config"
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
	inst, err := New(plugin.Spec{Name: "redirect", Config: config.NewTable("config", raw)})
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

// redirect runs the request phase on uri; it returns the status (0 when
// the step let the request through) and Location.
func redirect(t *testing.T, p *Plugin, uri string, headers ...string) (int, string, *plugin.Context) {
	t.Helper()
	fc := &fasthttp.RequestCtx{}
	fc.Request.SetRequestURI(uri)
	fc.Request.Header.SetHost("shop.example.com")
	for i := 0; i+1 < len(headers); i += 2 {
		fc.Request.Header.Set(headers[i], headers[i+1])
	}
	c := plugintest.NewContext(fc)
	t.Cleanup(func() { plugintest.Release(c) })
	if err := p.OnRequest(c); err != nil {
		if e, ok := err.(*plugin.Error); ok {
			return e.Status, "", c
		}
		t.Fatal(err)
	}
	if !c.Answered() {
		return 0, "", c
	}
	return fc.Response.StatusCode(), string(fc.Response.Header.Peek("Location")), c
}

func TestTargets(t *testing.T) {
	for _, tc := range []struct {
		name, conf, uri string
		status          int
		location        string
	}{
		{"fixed", `to = "https://new.example.com/"`, "/anything?x=1", 301, "https://new.example.com/"},
		{"captures", "from = '^/old/(.*)$'\nto = \"https://new.example.com/v2/$1\"\nstatus = 308", "/old/a/b?x=1", 308, "https://new.example.com/v2/a/b"},
		{"no match passes", "from = '^/old/(.*)$'\nto = \"/new/$1\"", "/other", 0, ""},
		{"query kept", "to = \"/new\"\nkeep_query = true", "/x?a=1&b=%20", 301, "/new?a=1&b=%20"},
		{"query added to the target's", "to = \"/new?src=old\"\nkeep_query = true", "/x?a=1", 301, "/new?src=old&a=1"},
		{"no query to keep", "to = \"/new\"\nkeep_query = true", "/x", 301, "/new"},
		{"captures percent-encoded", "from = '^/old/(.*)$'\nto = \"/new/$1\"", "/old/a%20b/%C3%A9", 301, "/new/a%20b/%C3%A9"},
		{"a percent sign stays encoded", "from = '^/old/(.*)$'\nto = \"/new/$1\"", "/old/100%25", 301, "/new/100%25"},
		{"header escaped", `to = "/u/$(header.x-user)"`, "/x", 301, "/u/a%2Fb%3Fc"},
		// "/go/evil.com" with "/$1" capturing "/evil.com": a path on this
		// host, never the scheme-relative "//evil.com".
		{"no scheme-relative target", "from = '^/go(.*)$'\nto = \"/$1\"", "/go/evil.com", 301, "/evil.com"},
		{"no scheme-relative target, backslash", "from = '^/go(.*)$'\nto = \"/$1\"", `/go/%5Cevil.com`, 301, "/%5Cevil.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustBuild(t, tc.conf)
			status, loc, _ := redirect(t, p, tc.uri, "X-User", "a/b?c")
			if status != tc.status || loc != tc.location {
				t.Fatalf("got %d %q, want %d %q", status, loc, tc.status, tc.location)
			}
		})
	}
}

func TestHTTPS(t *testing.T) {
	p := mustBuild(t, "https = true\nkeep_query = true")
	if status, loc, c := redirect(t, p, "/a%20b/c?q=1"); status != 301 || loc != "https://shop.example.com/a%20b/c?q=1" {
		t.Fatalf("got %d %q", status, loc)
	} else if len(c.CacheKey()) == 0 {
		t.Fatal("a redirect built from the Host is not in the cache key")
	}
	p = mustBuild(t, "https = true\nhttps_port = 8443\nstatus = 308")
	if status, loc, _ := redirect(t, p, "/x?q=1", "Host", "shop.example.com:8080"); status != 308 || loc != "https://shop.example.com:8443/x" {
		t.Fatalf("got %d %q", status, loc)
	}
	// An untrusted client saying it came over https is still redirected.
	if status, _, _ := redirect(t, p, "/x", "X-Forwarded-Proto", "https"); status != 308 {
		t.Fatalf("X-Forwarded-Proto from an untrusted peer was believed: %d", status)
	}
	for _, host := range []string{"evil.com/x", "a b", "x:99999999", "[zz]", "shop.example.com:80/"} {
		if status, loc, _ := redirect(t, p, "/x", "Host", host); status != 400 {
			t.Errorf("Host %q: got %d %q, want 400", host, status, loc)
		}
	}
	if status, loc, _ := redirect(t, p, "/x", "Host", "[::1]:8080"); status != 308 || loc != "https://[::1]:8443/x" {
		t.Fatalf("IPv6 host: got %d %q", status, loc)
	}
}

// TestCacheKey: a target read from the request beyond its path (a header)
// is added to the cache key; one from the path alone, which the cache
// keys on already, is not.
func TestCacheKey(t *testing.T) {
	_, _, c := redirect(t, mustBuild(t, `to = "/u/$(header.x-user)"`), "/x", "X-User", "bob")
	if len(c.CacheKey()) == 0 {
		t.Fatal("a target from a header is not in the cache key")
	}
	_, _, c = redirect(t, mustBuild(t, "from = '^/old/(.*)$'\nto = \"/new/$1\""), "/old/x")
	if len(c.CacheKey()) != 0 {
		t.Fatalf("a target from the path added %q to the cache key", c.CacheKey())
	}
}

func TestAnswers(t *testing.T) {
	for conf, want := range map[string]plugin.Answer{
		`to = "/x"`:                              plugin.AnswerAlways,
		"from = '^/a'\nto = \"/x\"":              plugin.AnswerMaybe,
		"https = true":                           plugin.AnswerMaybe,
		`to = "https://example.com/$$1"`:         plugin.AnswerAlways,
		`to = "https://example.com/$(header.x)"`: plugin.AnswerAlways,
	} {
		if got := mustBuild(t, conf).Answers(); got != want {
			t.Errorf("%s: %v, want %v", conf, got, want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ toml, want string }{
		{`status = 302`, "needs a target"},
		{"to = \"/x\"\nstatus = 200", "status: must be 301, 302, 303, 307 or 308"},
		{"to = \"/x\"\nhttps = true", "not both"},
		{"https = true\nfrom = \"^/a\"", "from: https redirects every"},
		{"https = true\nhttps_port = 0", "https_port"},
		{"from = '^/go/(.*)$'\nto = \"$1\"", `must start with "/"`},
		{`to = "//evil.com/"`, "scheme-relative"},
		{"from = '^/go/([^/]*)'\nto = \"https://$1/x\"", "capture in the host"},
		{"from = '^/go/(.*)$'\nto = \"https://example.com$1\"", "capture in the host"},
		{`to = "javascript:alert(1)"`, `must start with "/"`},
		{`to = "https:///x"`, "no host"},
		{`to = "https://example.com$(request.path)"`, "$(request.path)"},
		{`to = "/x/$1"`, "needs a regex"},
	} {
		_, err := build(t, tc.toml)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.toml, err, tc.want)
		}
	}
}
