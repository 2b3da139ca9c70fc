package transformstep

import (
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/moongate/moongate/core/template"
	"github.com/valyala/fasthttp"
)

func TestSource(t *testing.T) {
	fc := &fasthttp.RequestCtx{}
	fc.Request.SetRequestURI("/users/7?q=a+b&raw=%2F")
	fc.Request.Header.SetHost("api.example.com")
	fc.Request.Header.Set("X-Tenant", "acme")
	c := plugintest.NewContext(fc)
	defer plugintest.Release(c)
	c.Consumer = &consumer.Consumer{Name: "alice"}
	c.Params.Set("id", []byte("7"))
	for k, v := range map[string]any{"s": "str", "b": []byte("bytes"), "t": true, "f": 42.0, "g": 1.5, "i": 7,
		"i64": int64(-3), "u": uint64(9), "list": []any{"a"}} {
		c.SetValue(k, v)
	}
	src := AcquireSource(c)
	defer ReleaseSource(src)
	tp := template.MustCompile("$(header.x-tenant)|$(query.q)|$(query.raw)|$(param.id)|$(consumer.name)|"+
		"$(ctx.s)|$(ctx.b)|$(ctx.t)|$(ctx.f)|$(ctx.g)|$(ctx.i)|$(ctx.i64)|$(ctx.u)|$(ctx.list)|"+
		"$(request.host)|$(request.path)|$(request.method)|$(request.scheme)|$(request.query)", template.Options{})
	got, complete := tp.Expand(nil, src, template.Captures{})
	want := "acme|a b|/|7|alice|str|bytes|true|42|1.5|7|-3|9||api.example.com|/users/7|GET|http|q=a+b&raw=%2F"
	if string(got) != want || complete {
		t.Fatalf("got  %s (complete %v)\nwant %s", got, complete, want)
	}
}

func TestThrottle(t *testing.T) {
	var th Throttle
	now := time.Unix(1000, 0)
	if ok, _ := th.Allow(now); !ok {
		t.Fatal("first line dropped")
	}
	for i := 0; i < 5; i++ {
		if ok, _ := th.Allow(now.Add(time.Second)); ok {
			t.Fatal("a line within the interval went through")
		}
	}
	if ok, dropped := th.Allow(now.Add(DefaultInterval)); !ok || dropped != 5 {
		t.Fatalf("after the interval: %v, dropped %d, want 5", ok, dropped)
	}
}

func TestIsJSON(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/json": true, "Application/JSON; charset=utf-8": true, "application/problem+json": true,
		"application/vnd.api+JSON": true, " application/json ": true,
		"text/json": false, "application/jsonp": false, "+json": false, "application/x-www-form-urlencoded": false, "": false,
	} {
		if got := IsJSON([]byte(ct)); got != want {
			t.Errorf("%q: %v, want %v", ct, got, want)
		}
	}
}

func TestWeakETag(t *testing.T) {
	for in, want := range map[string]string{`"a"`: `W/"a"`, `W/"a"`: `W/"a"`, "": "",
		`"` + strings.Repeat("x", 200) + `"`: `W/"` + strings.Repeat("x", 200) + `"`} {
		var h fasthttp.ResponseHeader
		if in != "" {
			h.Set("ETag", in)
		}
		WeakETag(&h)
		if got := string(h.Peek("ETag")); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

func TestURLEncoding(t *testing.T) {
	if got := string(AppendPath(nil, []byte("/a b/%/é/x;y=1/~"))); got != "/a%20b/%25/%C3%A9/x;y=1/~" {
		t.Fatalf("AppendPath: %s", got)
	}
	if got := string(AppendURLSafe(nil, []byte(`a=1&b=%20 c"<>\^{|}é`))); got != `a=1&b=%20%20c%22%3C%3E%5C%5E%7B%7C%7D%C3%A9` {
		t.Fatalf("AppendURLSafe: %s", got)
	}
}

func TestRouteParams(t *testing.T) {
	cfg := config.Default()
	cfg.Routes = []config.Route{{Name: "a", Paths: []string{"/users/{id}/orders/{order}", "/x/{*}"}}}
	spec := plugin.Spec{Route: "a", Env: &plugin.Env{Config: cfg}}
	if got := strings.Join(RouteParams(spec), ","); got != "id,order" {
		t.Fatalf("params %q", got)
	}
	if RouteParams(plugin.Spec{Env: &plugin.Env{Config: cfg}}) != nil {
		t.Fatal("a global step has params")
	}
}

func TestBodyValuesFromTOML(t *testing.T) {
	raw := map[string]any{"set": map[string]any{"body": map[string]any{
		"meta":  map[string]any{"version": int64(2), "ok": true},
		"a.b":   "text",
		"list":  []any{int64(1), "x", map[string]any{"k": 1.5}},
		"when":  time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		"empty": map[string]any{},
	}}}
	tbl := config.NewTable("config", raw)
	var cfg Config
	if err := tbl.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	p, err := Compile(tbl, &cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fc := &fasthttp.RequestCtx{}
	c := plugintest.NewContext(fc)
	defer plugintest.Release(c)
	st := AcquireState(c)
	defer ReleaseState(st)
	out, err := p.ApplyBody([]byte(`{"a":{"c":1}}`), st)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a":{"c":1,"b":"text"},"empty":{},"list":[1,"x",{"k":1.5}],"meta":{"ok":true,"version":2},"when":"2025-01-02T03:04:05Z"}`
	if string(out) != want {
		t.Fatalf("got  %s\nwant %s", out, want)
	}
}
