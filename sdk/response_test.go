package sdk_test

import (
	"io"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/plugin"
)

// statusLine returns the first line of the response head as it is
// written to the client.
func statusLine(h interface{ Header() []byte }) string {
	line, _, _ := strings.Cut(string(h.Header()), "\r\n")
	return line
}

// TestStatusLineFollowsStatus: set_status in on_response changes the
// reason phrase with the status; an unchanged status keeps the
// upstream's phrase.
func TestStatusLineFollowsStatus(t *testing.T) {
	e := newEnv(t)
	e.upstream = upstreamFunc(func(c *plugin.Context) {
		c.Response.SetStatusCode(200)
		c.Response.Header.SetStatusMessage([]byte("Fine Thanks"))
	})
	fc := reusedCtx()
	for _, tc := range []struct{ src, want string }{
		{`gw.response.set_status(418)`, "HTTP/1.1 418 I'm a teapot"},
		{`gw.response.set_status(503)`, "HTTP/1.1 503 Service Unavailable"},
		{`gw.response.set_status(200)`, "HTTP/1.1 200 Fine Thanks"},
		{`gw.response.set_header("X-A", "1")`, "HTTP/1.1 200 Fine Thanks"},
		{`gw.response.exit(404, "gone")`, "HTTP/1.1 404 Not Found"},
	} {
		refill(fc, "/")
		if err := e.serve(fc, plugin.PhaseResponse, tc.src); err != "" {
			t.Fatalf("%s: %s", tc.src, err)
		}
		if got := statusLine(&fc.Response.Header); got != tc.want {
			t.Errorf("%s: status line %q, want %q", tc.src, got, tc.want)
		}
	}
}

// TestResponseHeadersSetInRequestPhase: gw.response.set_header,
// add_header and clear_header in on_request apply to the response the
// request gets, the upstream's or one a step produced; headers given to
// exit win over them.
func TestResponseHeadersSetInRequestPhase(t *testing.T) {
	e := newEnv(t)
	e.upstream = upstreamFunc(func(c *plugin.Context) {
		c.Response.SetStatusCode(200)
		c.Response.Header.Set("X-Gone", "upstream")
		c.Response.Header.Set("X-Early", "upstream")
	})
	fc := reusedCtx()
	// (clear_header first: fasthttp's Del moves the last header line
	// into the hole, which would swap X-Multi's values.)
	const early = `
gw.response.clear_header("X-Gone")
gw.response.set_header("X-Early", "1")
gw.response.add_header("X-Multi", "a")
gw.response.add_header("X-Multi", "b")
gw.response.set_header("X-Both", "early")
`
	refill(fc, "/")
	if err := e.serve(fc, plugin.PhaseRequest, early); err != "" {
		t.Fatal(err)
	}
	h := &fc.Response.Header
	if got := string(h.Peek("X-Early")); got != "1" {
		t.Errorf("upstream response: X-Early %q, want 1", got)
	}
	if got := h.PeekAll("X-Multi"); len(got) != 2 || string(got[1]) != "b" {
		t.Errorf("upstream response: X-Multi %q, want [a b]", got)
	}
	if got := h.Peek("X-Gone"); got != nil {
		t.Errorf("upstream response: X-Gone %q, want none", got)
	}

	refill(fc, "/")
	if err := e.serve(fc, plugin.PhaseRequest, early+`return gw.response.exit(403, "no", { ["X-Both"] = "exit" })`); err != "" {
		t.Fatal(err)
	}
	if fc.Response.StatusCode() != 403 || string(h.Peek("X-Early")) != "1" || string(h.Peek("X-Both")) != "exit" {
		t.Errorf("exit response: %d X-Early %q X-Both %q; want 403, 1, exit", fc.Response.StatusCode(), h.Peek("X-Early"), h.Peek("X-Both"))
	}
	// Nothing is left over for the next request of the context pool.
	refill(fc, "/")
	if err := e.serve(fc, plugin.PhaseRequest, ``); err != "" {
		t.Fatal(err)
	}
	if h.Peek("X-Multi") != nil || string(h.Peek("X-Early")) != "upstream" {
		t.Errorf("next request: X-Multi %q X-Early %q; want none, upstream", h.Peek("X-Multi"), h.Peek("X-Early"))
	}
	if got := e.do(plugin.PhaseLog, `gw.response.set_header("X-A", "1")`); !strings.Contains(got, "not allowed in the log phase (allowed: request, response)") {
		t.Errorf("set_header in on_log: got %q", got)
	}
}

// stream is an upstream body that counts its reads.
type stream struct {
	reads  int
	closed bool
}

func (s *stream) Read(p []byte) (int, error) {
	s.reads++
	if s.reads == 1 {
		return copy(p, "data: 1\n\n"), nil
	}
	return 0, io.ErrUnexpectedEOF // the upstream went away mid-stream
}

func (s *stream) Close() error { s.closed = true; return nil }

// TestStreamedResponseBody: get_body of a streamed response returns
// nil, "streamed" without reading the stream; is_streamed tells.
func TestStreamedResponseBody(t *testing.T) {
	e := newEnv(t)
	var st *stream
	e.upstream = upstreamFunc(func(c *plugin.Context) {
		st = &stream{}
		c.Response.SetStatusCode(200)
		c.Response.Header.SetContentType("text/event-stream")
		c.Response.SetBodyStream(st, -1)
	})
	fc := reusedCtx()
	refill(fc, "/")
	if err := e.serve(fc, plugin.PhaseResponse, `
assert(gw.response.is_streamed() == true)
local body, err = gw.response.get_body()
assert(body == nil and err == "streamed", tostring(body) .. ", " .. tostring(err))
`); err != "" {
		t.Fatal(err)
	}
	if st.reads != 0 {
		t.Errorf("the stream was read %d times by the response phase, want 0", st.reads)
	}
	e.upstream = okUpstream{}
	if err := e.do(plugin.PhaseResponse, `assert(gw.response.is_streamed() == false and gw.response.get_body() == "")`); err != "" {
		t.Error(err)
	}
}
