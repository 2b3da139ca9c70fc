package sdk_test

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/moongate/moongate/core/store"
	"github.com/moongate/moongate/sdk"
	"github.com/valyala/fasthttp"
	lua "github.com/yuin/gopher-lua"
)

// TestGeneratedFilesUpToDate fails when docs/lua-sdk.md or sdk/gw.lua
// differ from what the bindings generate: run `go generate ./sdk`.
func TestGeneratedFilesUpToDate(t *testing.T) {
	for _, f := range []struct {
		path string
		want []byte
	}{{filepath.Join("..", "docs", "lua-sdk.md"), sdk.Markdown()}, {"gw.lua", sdk.Annotations()}} {
		got, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, f.want) {
			t.Errorf("%s is stale: run `go generate ./sdk`", f.path)
		}
	}
}

// TestEveryBindingDocumented checks the descriptions the generated files
// are built from.
func TestEveryBindingDocumented(t *testing.T) {
	ann := string(sdk.Annotations())
	md := string(sdk.Markdown())
	for _, b := range sdk.Bindings() {
		if b.Doc == "" || b.Example == "" || b.Fn == nil {
			t.Errorf("%s: needs a doc, an example and a function", b.FullName())
		}
		if !strings.Contains(ann, "function "+b.FullName()+"(") || !strings.Contains(md, "### "+b.FullName()+"(") {
			t.Errorf("%s: missing from the generated files", b.FullName())
		}
	}
}

// probe is a chain step that runs the current test's Lua code in one
// phase, on a real chain: the phases are set by the chain runtime.
type probe struct{}

var (
	probePhase plugin.Phase
	probeRun   func(c *plugin.Context)
)

func (probe) OnRequest(c *plugin.Context) error  { return probe{}.at(c) }
func (probe) OnResponse(c *plugin.Context) error { return probe{}.at(c) }
func (probe) OnLog(c *plugin.Context)            { probe{}.at(c) }
func (probe) at(c *plugin.Context) error {
	if c.Phase() == probePhase {
		probeRun(c)
	}
	return nil
}

type okUpstream struct{}

func (okUpstream) Name() string { return "up" }
func (okUpstream) Forward(c *plugin.Context) error {
	c.Response.SetStatusCode(200)
	return nil
}

// upstreamFunc is an upstream answering with a function.
type upstreamFunc func(c *plugin.Context)

func (upstreamFunc) Name() string { return "up" }
func (f upstreamFunc) Forward(c *plugin.Context) error {
	f(c)
	return nil
}

func init() { plugin.Register("sdk-probe", func(plugin.Spec) (any, error) { return probe{}, nil }) }

// env is a Lua state with gw bound, and a route whose chain is the probe.
type env struct {
	consumer *consumer.Consumer // set on the context before the code runs
	L        *lua.LState
	s        *sdk.State
	chain    *plugintest.Chain
	upstream plugintest.Upstream // the route's upstream, for the next requests
}

func newEnv(t *testing.T) *env {
	t.Helper()
	L := lua.NewState()
	t.Cleanup(L.Close)
	s := sdk.Open(L, sdk.Options{Script: "t.lua", Cache: store.New(store.MinSize).Namespace("lua:t.lua"), MaxString: 1 << 20})
	e := &env{L: L, s: s, upstream: okUpstream{}}
	e.chain = e.chainOf(t, "sdk-probe")
	return e
}

// chainOf builds route r1 whose one step is the plugin called name, and
// whose upstream is e.upstream at the time of each request.
func (e *env) chainOf(t *testing.T, name string) *plugintest.Chain {
	t.Helper()
	ch, err := plugintest.NewChain(plugintest.Options{Route: "r1",
		Steps: []config.Step{{Name: name, Enabled: true, OnError: "fail"}}, Upstream: envUpstream{e}})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// envUpstream is the env's upstream of the moment.
type envUpstream struct{ e *env }

func (u envUpstream) Name() string                    { return u.e.upstream.Name() }
func (u envUpstream) Forward(c *plugin.Context) error { return u.e.upstream.Forward(c) }

// do serves a request through the route, runs src in phase (PhaseNone:
// outside the chain), then check (if any) in the same phase, and returns
// the Lua error text, "" if none.
func (e *env) do(phase plugin.Phase, src string, check ...func(c *plugin.Context)) string {
	req := &fasthttp.Request{}
	req.SetRequestURI("/a/b?x=1&y=2")
	req.Header.SetHost("example.com")
	req.Header.Set("X-In", "v1")
	req.Header.Add("X-Multi", "a")
	req.Header.Add("X-Multi", "b")
	fc := &fasthttp.RequestCtx{}
	fc.Init(req, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1234}, nil)
	return e.serve(fc, phase, src, check...)
}

// serve is do on a request the caller built in fc (which the caller may
// reuse, as a server reuses it for the requests of a connection).
func (e *env) serve(fc *fasthttp.RequestCtx, phase plugin.Phase, src string, check ...func(c *plugin.Context)) string {
	c := e.chain.Context(fc)
	var errText string
	probePhase = phase
	probeRun = func(c *plugin.Context) {
		e.s.C = c
		defer func() { e.s.C = nil }()
		if e.consumer != nil {
			c.Consumer = e.consumer
		}
		if err := e.L.DoString(src); err != nil {
			// gw.response.exit ends the chunk like a return.
			if ae, ok := err.(*lua.ApiError); !ok || !e.s.IsExit(ae.Object) {
				errText = err.Error()
			}
		}
		for _, f := range check {
			f(c)
		}
	}
	if phase == plugin.PhaseNone {
		probeRun(c)
		plugintest.Release(c)
		return errText
	}
	e.chain.Serve(c)
	if err := e.chain.Finish(c); err != nil {
		panic(err)
	}
	return errText
}

func TestRequestFunctions(t *testing.T) {
	e := newEnv(t)
	var got struct{ out, in, x, path, body string }
	err := e.do(plugin.PhaseRequest, `
assert(gw.request.get_method() == "GET")
assert(gw.request.get_path() == "/a/b")
assert(gw.request.get_header("x-in") == "v1")
assert(gw.request.get_header("missing") == nil)
assert(gw.request.get_query_arg("y") == "2")
assert(gw.request.get_query_arg("z") == nil)
assert(gw.request.get_host() == "example.com")
assert(gw.request.get_scheme() == "http")
assert(gw.request.get_client_ip() == "192.0.2.1")
local h = gw.request.get_headers()
assert(h["x-in"] == "v1" and h["x-multi"][1] == "a" and h["x-multi"][2] == "b")
gw.request.set_header("X-Out", "o")
gw.request.add_header("X-Multi", "c")
gw.request.clear_header("X-In")
gw.request.set_query_arg("x", "9")
gw.request.set_body("hello")
assert(gw.request.get_body() == "hello")
gw.request.set_path("/c d")
assert(gw.route.get_name() == "r1")
assert(gw.consumer.get() == nil)
`, func(c *plugin.Context) {
		got.out = string(c.Request.Header.Peek("X-Out"))
		got.in = string(c.Request.Header.Peek("X-In"))
		got.x = string(c.Request.URI().QueryArgs().Peek("x"))
		got.path = string(c.Request.URI().PathOriginal())
		got.body = string(c.Request.Body())
	})
	if err != "" {
		t.Fatal(err)
	}
	if got.out != "o" || got.in != "" || got.x != "9" || got.path != "/c%20d" || got.body != "hello" {
		t.Errorf("got X-Out %q, X-In %q, x %q, path %q, body %q; want o, removed, 9, /c%%20d, hello",
			got.out, got.in, got.x, got.path, got.body)
	}
}

func TestMisuse(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		phase plugin.Phase
		src   string
		want  string
	}{
		{plugin.PhaseResponse, `gw.request.set_header("A", "b")`, `<string>:1: gw.request.set_header: not allowed in the response phase (allowed: request)`},
		{plugin.PhaseLog, "\n\ngw.response.get_body()", `<string>:3: gw.response.get_body: not allowed in the log phase (allowed: response)`},
		{plugin.PhaseNone, `gw.request.get_path()`, `gw.request.get_path: not allowed in the none phase (allowed: request, response, log)`},
		{plugin.PhaseRequest, `gw.request.set_header("A", "b\r\nX-Evil: 1")`, `header value must not contain CR, LF or NUL`},
		{plugin.PhaseRequest, `gw.request.set_header("A B", "b")`, `invalid character in header name`},
		{plugin.PhaseRequest, `gw.request.get_header()`, `bad argument #1 to get_header (string expected, got nil)`},
		{plugin.PhaseRequest, `gw.request.set_path("relative")`, `path must start with "/"`},
		{plugin.PhaseRequest, `gw.response.exit(99)`, `status must be between 100 and 599`},
		{plugin.PhaseRequest, `gw.response.exit(200, nil, { ["X"] = "a\nb" })`, `header X: header value must not contain CR, LF or NUL`},
		{plugin.PhaseRequest, `gw.ctx.set("k", function() end)`, `cannot convert a function`},
		{plugin.PhaseRequest, `gw.json.encode(string.rep("x", 2 * 1024 * 1024))`, `result exceeds max_string_size`},
		{plugin.PhaseRequest, `local t = {} t.t = t gw.json.encode(t)`, `nesting deeper than 100 levels (or a cycle)`},
		{plugin.PhaseRequest, `gw.cache.set("k", "v", -1)`, `ttl must be a number of seconds, 0 or more`},
		{plugin.PhaseRequest, `gw.http.request{ url = "ftp://x" }`, `url must start with "http://" or "https://"`},
		{plugin.PhaseRequest, `gw.http.request{}`, `url is required`},
	}
	for _, tc := range cases {
		got := e.do(tc.phase, tc.src)
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s: got error %q, want %q", tc.src, got, tc.want)
		}
	}
}

func TestJSON(t *testing.T) {
	e := newEnv(t)
	err := e.do(plugin.PhaseRequest, `
local j = gw.json
assert(j.encode({ b = 1, a = { 1, 2.5, "x" }, e = {}, ea = j.array(), n = j.null, s = "q\"<\n" }) ==
  '{"a":[1,2.5,"x"],"b":1,"e":{},"ea":[],"n":null,"s":"q\\"<\\n"}')
local v = j.decode('{"list":[],"obj":{},"nothing":null,"num":1e3,"arr":[1,null,3]}')
assert(v.nothing == j.null)
assert(v.num == 1000)
assert(#v.arr == 3 and v.arr[2] == j.null)
assert(j.encode(v) == '{"arr":[1,null,3],"list":[],"nothing":null,"num":1000,"obj":{}}', j.encode(v))
local bad, err = j.decode('{"a":')
assert(bad == nil and err:find("invalid JSON"), err)
local two, err2 = j.decode('1 2')
assert(two == nil and err2:find("unexpected data"), err2)
`)
	if err != "" {
		t.Fatal(err)
	}
}

func TestCodecsAndCache(t *testing.T) {
	e := newEnv(t)
	err := e.do(plugin.PhaseRequest, `
assert(gw.base64.encode("hi?") == "aGk/")
assert(gw.base64.decode("aGk/") == "hi?")
assert(gw.base64.encode_url("hi?") == "aGk_")
assert(gw.base64.decode_url("aGk_") == "hi?")
local bad, err = gw.base64.decode("%%%")
assert(bad == nil and err:find("invalid base64"))
assert(gw.hash.sha256("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
assert(gw.hash.hmac_sha256("key", "The quick brown fox jumps over the lazy dog") ==
  "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")
assert(gw.hash.equal("a", "a") and not gw.hash.equal("a", "b"))
assert(gw.time.now() > 1.7e9 and gw.time.now_ms() > 1.7e12)
gw.cache.set("k", "v")
assert(gw.cache.get("k") == "v")
gw.cache.set("n", 42)
assert(gw.cache.get("n") == "42")
gw.cache.delete("k")
assert(gw.cache.get("k") == nil)
`)
	if err != "" {
		t.Fatal(err)
	}
}

func TestHTTP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/slow" {
			time.Sleep(600 * time.Millisecond)
		}
		ctx.Response.Header.Set("X-Method", string(ctx.Method()))
		ctx.SetStatusCode(202)
		ctx.SetBody(append([]byte("got:"), ctx.PostBody()...))
	}}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	url := "http://" + ln.Addr().String()

	e := newEnv(t)
	if err := e.do(plugin.PhaseRequest, `
local res = assert(gw.http.request{ url = "`+url+`/x", body = "data", headers = { ["X-A"] = "1" } })
assert(res.status == 202 and res.body == "got:data" and res.headers["x-method"] == "POST", res.body)
`); err != "" {
		t.Fatal(err)
	}
	// The step's deadline bounds the call even without a timeout option.
	e.s.Deadline = time.Now().Add(100 * time.Millisecond)
	if err := e.do(plugin.PhaseRequest, `
local res, err = gw.http.request{ url = "`+url+`/slow" }
assert(res == nil and err:find("timed out"), tostring(err))
`); err != "" {
		t.Fatal(err)
	}
	e.s.Deadline = time.Time{}
	if err := e.do(plugin.PhaseRequest, `
local res, err = gw.http.request{ url = "`+url+`/slow", timeout = 0.05 }
assert(res == nil and err:find("timed out"), tostring(err))
`); err != "" {
		t.Fatal(err)
	}
	// Allowed in on_log: a script ships its log to a collector (http-log).
	if err := e.do(plugin.PhaseLog, `
local res, err = gw.http.request{ url = "`+url+`" }
assert(res and res.status == 202, tostring(err))
`); err != "" {
		t.Errorf("gw.http in on_log: %s", err)
	}
}

func TestConsumer(t *testing.T) {
	e := newEnv(t)
	e.consumer = &consumer.Consumer{Name: "alice", Groups: []string{"admins", "ops"}, CredentialID: "key-1"}
	if err := e.do(plugin.PhaseResponse, `
local who = gw.consumer.get()
assert(who.name == "alice" and who.credential_id == "key-1")
assert(#who.groups == 2 and who.groups[1] == "admins")
assert(who.anonymous == false)
assert(gw.json.encode(who) == '{"anonymous":false,"credential_id":"key-1","groups":["admins","ops"],"name":"alice"}')
`); err != "" {
		t.Fatal(err)
	}
}
