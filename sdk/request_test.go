package sdk_test

import (
	"net"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/plugin"
	"github.com/valyala/fasthttp"
	lua "github.com/yuin/gopher-lua"
)

// reusedCtx returns a RequestCtx that the caller refills for each
// request, the way the server reuses one for every request of a
// keep-alive connection (fasthttp keeps the buffers of its special
// headers, Content-Type or User-Agent, when it resets them).
func reusedCtx() *fasthttp.RequestCtx {
	fc := &fasthttp.RequestCtx{}
	fc.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1234}, nil)
	return fc
}

func refill(fc *fasthttp.RequestCtx, uri string, headers ...string) {
	fc.Request.Reset()
	fc.Response.Reset()
	fc.Request.SetRequestURI(uri)
	fc.Request.Header.SetHost("example.com")
	for i := 0; i+1 < len(headers); i += 2 {
		fc.Request.Header.Add(headers[i], headers[i+1])
	}
}

// TestHeaderAbsentOnReusedMessages: get_header returns nil for a header
// the request (or response) does not carry, in every phase, also when
// the reused request and response carried it the time before; and ""
// for a header present with an empty value.
func TestHeaderAbsentOnReusedMessages(t *testing.T) {
	e := newEnv(t)
	with := false
	e.upstream = upstreamFunc(func(c *plugin.Context) {
		c.Response.SetStatusCode(200)
		c.Response.Header.SetNoDefaultContentType(true)
		if with {
			c.Response.Header.SetContentType("text/html")
			c.Response.Header.SetContentEncoding("gzip")
			c.Response.Header.Set("Server", "up")
			c.Response.Header.Set("X-Up", "1")
		}
	})
	const check = `
local function check(get, names)
  for _, n in ipairs(names) do
    local v = get(n)
    if WITH then
      assert(type(v) == "string" and v ~= "", n .. ": missing")
    else
      assert(v == nil, n .. ": got " .. string.format("%q", tostring(v)) .. ", want nil")
    end
  end
end
local req = { "Content-Type", "User-Agent", "Cookie", "X-Custom" }
check(gw.request.get_header, req)
if PHASE ~= "request" then
  check(gw.response.get_header, { "Content-Type", "Content-Encoding", "Server", "X-Up" })
end
local h = gw.request.get_headers()
assert((h["content-type"] ~= nil) == WITH, "get_headers content-type")
assert(gw.request.get_header("X-Empty") == "", "X-Empty: got " .. tostring(gw.request.get_header("X-Empty")))
`
	fc := reusedCtx()
	for i := 0; i < 20; i++ {
		with = i%2 == 0
		e.L.SetGlobal("WITH", lua.LBool(with))
		hs := []string{"X-Empty", ""}
		if with {
			hs = append(hs, "Content-Type", "application/json", "User-Agent", "curl/8", "Cookie", "a=b", "X-Custom", "x")
		}
		for _, phase := range []plugin.Phase{plugin.PhaseRequest, plugin.PhaseResponse, plugin.PhaseLog} {
			refill(fc, "/", hs...)
			e.L.SetGlobal("PHASE", lua.LString(phase.String()))
			if err := e.serve(fc, phase, check); err != "" {
				t.Fatalf("request %d (headers present: %v), %s phase: %s", i+1, with, phase, err)
			}
		}
	}
}

// TestQueryAndMethod covers get_query, get_raw_query, set_method and
// get_port (and the phases and arguments they refuse).
func TestQueryAndMethod(t *testing.T) {
	e := newEnv(t)
	fc := reusedCtx()
	refill(fc, "/p?a=1&b=x%20y&a=2&flag&e=")
	var method, uri string
	err := e.serve(fc, plugin.PhaseRequest, `
local q = gw.request.get_query()
assert(type(q.a) == "table" and #q.a == 2 and q.a[1] == "1" and q.a[2] == "2", "a")
assert(q.b == "x y", "b")
assert(q.flag == "" and q.e == "", "flag, e")
assert(q.zz == nil)
assert(gw.request.get_raw_query() == "a=1&b=x%20y&a=2&flag&e=", gw.request.get_raw_query())
gw.request.set_query_arg("c", "3")
assert(gw.request.get_query().c == "3")
assert(gw.request.get_raw_query() == "a=1&b=x%20y&a=2&flag&e=", "the client's query, whatever changed since")
assert(gw.request.get_port() == 0, "harness contexts have no local port")
assert(gw.request.get_method() == "GET")
gw.request.set_method("PATCH")
assert(gw.request.get_method() == "PATCH")
`, func(c *plugin.Context) {
		method = string(c.Request.Header.Method())
		uri = string(c.Request.URI().RequestURI())
	})
	if err != "" {
		t.Fatal(err)
	}
	if method != "PATCH" || !strings.Contains(uri, "c=3") {
		t.Errorf("sent upstream: %s %s; want PATCH and c=3 in the query", method, uri)
	}
	for _, tc := range []struct{ src, want string }{
		{`gw.request.set_method("GE T")`, "method must be a token"},
		{`gw.request.set_method("")`, "method must be a token"},
		{`gw.request.set_method("CONNECT")`, "CONNECT"},
	} {
		if got := e.do(plugin.PhaseRequest, tc.src); !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %q, want an error with %q", tc.src, got, tc.want)
		}
	}
	if got := e.do(plugin.PhaseResponse, `gw.request.set_method("POST")`); !strings.Contains(got, "gw.request.set_method: not allowed in the response phase (allowed: request)") {
		t.Errorf("set_method in on_response: got %q", got)
	}
}

// TestOriginalHeaders: get_original_header reads the client's request as
// it reached the chain, whatever the steps changed since; get_header
// keeps reading the request that goes upstream.
func TestOriginalHeaders(t *testing.T) {
	e := newEnv(t)
	e.chain = e.chainOf(t, "sdk-probe-original")
	fc := reusedCtx()
	refill(fc, "/", "X-Tenant", "acme", "X-Multi", "a", "X-Multi", "b")
	if err := e.serve(fc, plugin.PhaseRequest, `
gw.request.set_header("X-Tenant", "globex")
gw.request.clear_header("X-Multi")
gw.request.set_header("X-Added", "1")
assert(gw.request.get_header("X-Tenant") == "globex")
assert(gw.request.get_original_header("X-Tenant") == "acme")
assert(gw.request.get_original_header("X-Added") == nil)
local o = gw.request.get_original_headers()
assert(o["x-tenant"] == "acme" and o["x-multi"][2] == "b" and o["x-added"] == nil)
`); err != "" {
		t.Fatal(err)
	}
	// A chain without a step that asked for them did not keep them.
	if got := newEnv(t).do(plugin.PhaseRequest, `gw.request.get_original_headers()`); !strings.Contains(got, "gw.request.get_original_headers: the client's original headers were not kept") {
		t.Errorf("without the copy: got %q", got)
	}
	// In the response and log phases too.
	for _, phase := range []plugin.Phase{plugin.PhaseResponse, plugin.PhaseLog} {
		refill(fc, "/", "X-Tenant", "acme")
		if err := e.serve(fc, phase, `assert(gw.request.get_original_header("X-Tenant") == "acme")`); err != "" {
			t.Errorf("%s phase: %s", phase, err)
		}
	}
}

// probeOriginal is the probe step of a chain that records the client's
// original headers.
type probeOriginal struct{ probe }

func (probeOriginal) UsesOriginalHeaders() bool { return true }

func init() {
	plugin.Register("sdk-probe-original", func(plugin.Spec) (any, error) { return probeOriginal{}, nil })
}
