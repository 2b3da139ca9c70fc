package lua_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moongate/moongate/core/cli"
	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/plugins/lua"
	"github.com/valyala/fasthttp"
)

// keepAlive is one client connection to the gateway, for requests
// written byte for byte.
type keepAlive struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

func dialGateway(t *testing.T, g *gatewaytest.Gateway) *keepAlive {
	t.Helper()
	conn, err := net.Dial("tcp", g.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &keepAlive{t: t, conn: conn, br: bufio.NewReader(conn)}
}

// do writes raw and reads one response; it fails the test after 10s
// without one.
func (k *keepAlive) do(raw string) *fasthttp.Response {
	k.t.Helper()
	k.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(k.conn, raw); err != nil {
		k.t.Fatal(err)
	}
	resp := &fasthttp.Response{}
	if err := resp.Read(k.br); err != nil {
		k.t.Fatalf("reading the response: %v", err)
	}
	return resp
}

// rawExchange sends raw on a new connection and returns everything the
// gateway wrote until it closed the connection.
func rawExchange(t *testing.T, g *gatewaytest.Gateway, raw string) string {
	t.Helper()
	conn, err := net.Dial("tcp", g.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("reading: %v (got %q)", err, out)
	}
	return string(out)
}

// TestHeaderAbsenceOverKeepAlive: on one keep-alive connection, requests
// alternately with and without Content-Type, User-Agent, Cookie and a
// custom header, answered alternately with and without Content-Type and
// Content-Encoding. A script reads them all: absent is nil every time,
// never "" left over from the request before (fasthttp reuses the
// request and response of a connection).
func TestHeaderAbsenceOverKeepAlive(t *testing.T) {
	dir := writeScripts(t, map[string]string{"seen.lua": `
local function seen(get, names)
  local out = {}
  for _, n in ipairs(names) do
    local v = get(n)
    out[#out + 1] = n .. "=" .. (v == nil and "nil" or string.format("%q", v))
  end
  return table.concat(out, ";")
end
return {
  on_request = function()
    gw.ctx.set("req", seen(gw.request.get_header, { "Content-Type", "User-Agent", "Cookie", "X-Custom" }))
  end,
  on_response = function()
    gw.response.set_header("X-Seen-Request", gw.ctx.get("req"))
    gw.response.set_header("X-Seen-Response", seen(gw.response.get_header, { "Content-Type", "Content-Encoding", "X-Up" }))
  end,
}`})
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		if len(ctx.Request.Header.Peek("X-Custom")) > 0 {
			ctx.Response.Header.SetContentType("text/plain")
			ctx.Response.Header.Set("Content-Encoding", "identity")
			ctx.Response.Header.Set("X-Up", "1")
		}
		ctx.SetBodyString("ok")
	})
	g := gatewaytest.Start(t, fmt.Sprintf(`
[lua]
timeout = "5s"
[[upstreams]]
name = "up"
targets = [{ url = %q }]
[[routes]]
name = "seen"
paths = ["/"]
upstream = "up"
  [[routes.plugins]]
  script = %q
`, up.URL, filepath.Join(dir, "seen.lua")))

	const (
		withReq   = `Content-Type="application/json";User-Agent="probe/1";Cookie="a=b";X-Custom="x"`
		noReq     = `Content-Type=nil;User-Agent=nil;Cookie=nil;X-Custom=nil`
		withResp  = `Content-Type="text/plain";Content-Encoding="identity";X-Up="1"`
		noResp    = `Content-Type=nil;Content-Encoding=nil;X-Up=nil`
		withLines = "Content-Type: application/json\r\nUser-Agent: probe/1\r\nCookie: a=b\r\nX-Custom: x\r\nContent-Length: 2\r\n\r\n{}"
	)
	k := dialGateway(t, g)
	wrong := 0
	for i := 0; i < 20; i++ {
		with := i%2 == 0
		raw := "GET / HTTP/1.1\r\nHost: gw\r\n\r\n"
		wantReq, wantResp := noReq, noResp
		if with {
			raw = "POST / HTTP/1.1\r\nHost: gw\r\n" + withLines
			wantReq, wantResp = withReq, withResp
		}
		resp := k.do(raw)
		gotReq, gotResp := string(resp.Header.Peek("X-Seen-Request")), string(resp.Header.Peek("X-Seen-Response"))
		if resp.StatusCode() != 200 || gotReq != wantReq || gotResp != wantResp {
			wrong++
			t.Errorf("request %d: %d\n  request headers seen  %s\n  want                  %s\n  response headers seen %s\n  want                  %s",
				i+1, resp.StatusCode(), gotReq, wantReq, gotResp, wantResp)
		}
	}
	if wrong > 0 {
		t.Errorf("%d of 20 requests on one connection saw a wrong header", wrong)
	}
}

// TestStatusLineMatchesStatus: the status line the client reads carries
// the reason phrase of the status sent, whoever changed the status: a
// script's set_status, a failing on_response (500), an exit; an
// unchanged status keeps the upstream's own phrase.
func TestStatusLineMatchesStatus(t *testing.T) {
	dir := writeScripts(t, map[string]string{
		"teapot.lua": `return { on_response = function() gw.response.set_status(418) end }`,
		"fail.lua":   `return { on_response = function() error("boom") end }`,
		"exit.lua":   `return { on_response = function() return gw.response.exit(404, "gone") end }`,
		"keep.lua":   `return { on_response = function() gw.response.set_header("X-Kept", "1") end }`,
	})
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(200)
		ctx.Response.Header.SetStatusMessage([]byte("Fine Thanks"))
		ctx.SetBodyString("ok")
	})
	var routes strings.Builder
	for _, name := range []string{"teapot", "fail", "exit", "keep"} {
		fmt.Fprintf(&routes, "[[routes]]\nname = %q\npaths = [\"/%s\"]\nupstream = \"up\"\n  [[routes.plugins]]\n  script = %q\n",
			name, name, filepath.Join(dir, name+".lua"))
	}
	g := gatewaytest.Start(t, fmt.Sprintf(`
[lua]
timeout = "5s"
[[upstreams]]
name = "up"
targets = [{ url = %q }]
%s`, up.URL, routes.String()))

	for _, tc := range []struct{ path, want string }{
		{"/teapot", "HTTP/1.1 418 I'm a teapot"},
		{"/fail", "HTTP/1.1 500 Internal Server Error"},
		{"/exit", "HTTP/1.1 404 Not Found"},
		{"/keep", "HTTP/1.1 200 Fine Thanks"},
	} {
		out := rawExchange(t, g, "GET "+tc.path+" HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
		line, _, _ := strings.Cut(out, "\r\n")
		if line != tc.want {
			t.Errorf("%s: status line %q, want %q", tc.path, line, tc.want)
		}
	}
}

// TestStreamedResponseInScripts: a script's on_response on a server-sent
// events response gets nil, "streamed" from get_body at once and the
// events flow to the client while the upstream keeps the stream open.
func TestStreamedResponseInScripts(t *testing.T) {
	dir := writeScripts(t, map[string]string{"sse.lua": `return { on_response = function()
  local body, err = gw.response.get_body()
  gw.response.set_header("X-Body", tostring(body) .. "," .. tostring(err) .. "," .. tostring(gw.response.is_streamed()))
end }`})
	release := make(chan struct{})
	var once sync.Once
	// Deferred, not a cleanup: it must run before the gateway's shutdown
	// (a cleanup) waits for the request.
	defer once.Do(func() { close(release) })
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("text/event-stream")
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			w.WriteString("data: first\n\n")
			w.Flush()
			<-release // the stream stays open until the client saw the first event
			w.WriteString("data: last\n\n")
			w.Flush()
		})
	})
	g := gatewaytest.Start(t, fmt.Sprintf(`
[lua]
timeout = "5s"
[[upstreams]]
name = "up"
targets = [{ url = %q }]
[[routes]]
name = "sse"
paths = ["/"]
upstream = "up"
  [[routes.plugins]]
  script = %q
`, up.URL, filepath.Join(dir, "sse.lua")))

	conn, err := net.Dial("tcp", g.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
	br := bufio.NewReader(conn)
	var head bytes.Buffer
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("no response head while the stream is open (the response phase waited for its end): %v; got %q", err, head.String())
		}
		head.WriteString(line)
		if line == "\r\n" {
			break
		}
	}
	if !strings.Contains(head.String(), "X-Body: nil,streamed,true\r\n") {
		t.Errorf("head: %q, want X-Body: nil,streamed,true", head.String())
	}
	var first []byte
	for !bytes.Contains(first, []byte("data: first")) {
		b, err := br.ReadByte()
		if err != nil {
			t.Fatalf("first event: %v (got %q)", err, first)
		}
		first = append(first, b)
	}
	once.Do(func() { close(release) })
	rest, _ := io.ReadAll(br)
	if !strings.Contains(string(rest), "data: last") {
		t.Errorf("the rest of the stream: %q, want the last event", rest)
	}
}

// TestPDKParityThroughGateway: the Kong-like functions through a real
// gateway: response headers set in on_request (on the upstream's
// response and on an exit), the query table and the raw query,
// set_method, the port, and the client's original headers next to the
// upstream view.
func TestPDKParityThroughGateway(t *testing.T) {
	dir := writeScripts(t, map[string]string{"pdk.lua": `
local M = {}
function M.on_request()
  gw.response.set_header("X-Early", "1")
  gw.response.clear_header("X-Internal")
  gw.request.set_header("X-Tenant", "rewritten")
  local q = gw.request.get_query()
  gw.request.set_header("X-Query", q.tag[1] .. "+" .. q.tag[2] .. "|" .. gw.request.get_raw_query())
  gw.request.set_header("X-Port", tostring(gw.request.get_port()))
  gw.request.set_header("X-Original", gw.request.get_original_header("X-Tenant") .. "/" .. gw.request.get_header("X-Tenant"))
  if gw.request.get_path() == "/exit" then
    return gw.response.exit(403, "no")
  end
  gw.request.set_method("PUT")
end
return M`})
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("X-Internal", "secret-topology")
		ctx.Response.Header.Set("X-Got-Method", string(ctx.Method()))
		for _, h := range []string{"X-Query", "X-Port", "X-Original"} {
			ctx.Response.Header.Set("X-Got-"+h[2:], string(ctx.Request.Header.Peek(h)))
		}
	})
	g := gatewaytest.Start(t, fmt.Sprintf(`
[lua]
timeout = "5s"
[[upstreams]]
name = "up"
targets = [{ url = %q }]
[[routes]]
name = "pdk"
paths = ["/"]
upstream = "up"
  [[routes.plugins]]
  script = %q
`, up.URL, filepath.Join(dir, "pdk.lua")))
	_, port, _ := net.SplitHostPort(g.Addrs()[0])

	st, body, resp := gatewaytest.Do(t, "GET", g.URL+"/a?tag=x&tag=y%20z", nil, "X-Tenant", "acme")
	for name, want := range map[string]string{
		"X-Early": "1", "X-Internal": "", "X-Got-Method": "PUT",
		"X-Got-Query":    "x+y z|tag=x&tag=y%20z",
		"X-Got-Port":     port,
		"X-Got-Original": "acme/rewritten",
	} {
		if got := string(resp.Header.Peek(name)); got != want {
			t.Errorf("%s: got %q, want %q (status %d %s)", name, got, want, st, body)
		}
	}
	before := up.Hits()
	st, body, resp = gatewaytest.Do(t, "GET", g.URL+"/exit?tag=a&tag=b", nil, "X-Tenant", "acme")
	if st != 403 || string(body) != "no" || string(resp.Header.Peek("X-Early")) != "1" || up.Hits() != before {
		t.Errorf("exit: got %d %q X-Early %q, upstream hits %d -> %d; want 403 \"no\" 1, not called",
			st, body, resp.Header.Peek("X-Early"), before, up.Hits())
	}
}

// TestScriptTestReusesRequests: `moongate script test` runs a script's
// requests on one reused request context, as a keep-alive connection
// does, so a script that mistakes "" for a header shows it in its tests;
// print in a test file writes to the output; the response headers have
// Content-Length as the client gets it.
func TestScriptTestReusesRequests(t *testing.T) {
	dir := writeScripts(t, map[string]string{
		"ct.lua": `return { on_request = function()
  if gw.request.get_header("Content-Type") then
    return gw.response.exit(415, "has a body type")
  end
end }`,
		"ct_test.lua": `
local s = gwtest.load("ct.lua")
gwtest.test("with, then without", function()
  print("run", 1, { }  ~= nil)
  gwtest.eq(s:run{ method = "POST", headers = { ["Content-Type"] = "text/plain" }, body = "x" }.status, 415)
  local r = s:run{ response = { body = "hello" } }
  gwtest.eq(r.status, 200, "no Content-Type the second time")
  gwtest.eq(r.headers["content-length"], "5")
end)
`,
	})
	var stdout, stderr bytes.Buffer
	code := cli.Main([]string{"script", "test", dir}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit code %d:\n%s%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "run\t1\ttrue\n") {
		t.Errorf("print's line is not in the output:\n%s", stdout.String())
	}
	if !strings.Contains(stdout.String(), "1 passed, 0 failed") {
		t.Errorf("output:\n%s", stdout.String())
	}
}

// TestOriginalHeadersFollowTheirName: a chain keeps the client's
// original headers when its script names get_original_header, also in a
// module it requires while loading; a script that builds the name at
// run time gets an error saying why, not a wrong answer.
func TestOriginalHeadersFollowTheirName(t *testing.T) {
	dir := writeScripts(t, map[string]string{
		"lib/orig.lua": `return { tenant = function() return gw.request.get_original_header("X-Tenant") end }`,
		"module.lua": `local orig = require("lib.orig")
return { on_request = function()
  gw.request.set_header("X-Tenant", "changed")
  gw.request.set_header("X-Was", orig.tenant())
end }`,
		"dynamic.lua": `return { on_request = function()
  gw.request.set_header("X-Was", gw.request["get_original_" .. "header"]("X-Tenant"))
end }`,
	})
	for _, tc := range []struct{ script, was, err string }{
		{"module.lua", "acme", ""},
		{"dynamic.lua", "", "gw.request.get_original_header: the client's original headers were not kept for this route"},
	} {
		h, err := lua.NewHarness(filepath.Join(dir, tc.script), lua.HarnessOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		res, err := h.Run(lua.Request{Headers: []lua.Header{{Name: "X-Tenant", Value: "acme"}}})
		if err != nil {
			t.Fatal(err)
		}
		was := ""
		for _, hd := range res.RequestHeaders {
			if hd.Name == "X-Was" {
				was = hd.Value
			}
		}
		if was != tc.was || !strings.Contains(res.Error, tc.err) || (tc.err == "") != (res.Error == "") {
			t.Errorf("%s: X-Was %q, error %q; want %q, %q", tc.script, was, res.Error, tc.was, tc.err)
		}
	}
}
