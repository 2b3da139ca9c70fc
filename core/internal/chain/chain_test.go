package chain

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/moongate/moongate/core/plugin"
	"github.com/valyala/fasthttp"
)

func TestRewriteAndStrip(t *testing.T) {
	for _, tc := range []struct {
		path       string
		prefixSegs int
		strip      bool
		rewrite    string
		params     [][2]string
		want       string
	}{
		{"/api/orders/9", 1, true, "", nil, "/orders/9"},
		{"/api", 1, true, "", nil, "/"},
		{"/a/b/c", 2, true, "", nil, "/c"},
		{"/api/orders/9", 1, false, "/v1/{*}", nil, "/v1/orders/9"},
		{"/users/42", -1, false, "/v2/accounts/{id}/x", [][2]string{{"id", "42"}}, "/v2/accounts/42/x"},
		{"/users/42", -1, true, "", nil, "/users/42"}, // strip needs a prefix pattern
	} {
		var req fasthttp.Request
		req.SetRequestURI(tc.path)
		fc := &fasthttp.RequestCtx{}
		fc.Init(&req, nil, nil)
		c := reqctx.Acquire(fc)
		for _, p := range tc.params {
			c.Params.Set(p[0], []byte(p[1]))
		}
		r := NewRoute("r", nil, nil)
		r.StripPrefix = tc.strip
		c.Setup(&r.Route, tc.prefixSegs, nil, nil, nil)
		if tc.rewrite != "" {
			r.Rewrite = NewRewrite(tc.rewrite)
		}
		r.upstreamPath(c)
		if got := string(c.Path()); got != tc.want {
			t.Errorf("%s (strip=%v rewrite=%q): got %q, want %q", tc.path, tc.strip, tc.rewrite, got, tc.want)
		}
		reqctx.Release(c)
	}
}

type failingStep struct{ phase plugin.Phase }

func (f failingStep) OnRequest(c *plugin.Context) error {
	if f.phase == plugin.PhaseRequest {
		return errors.New("scripts/canary.lua:3: boom")
	}
	return nil
}

func (f failingStep) OnResponse(c *plugin.Context) error {
	if f.phase == plugin.PhaseResponse {
		return errors.New("scripts/canary.lua:7: boom")
	}
	return nil
}

type statusUpstream struct{}

func (statusUpstream) Name() string { return "up" }
func (statusUpstream) Forward(c *Context) error {
	c.Response.SetStatusCode(200)
	c.Response.Header.SetStatusMessage([]byte("OK"))
	c.Response.SetBodyString("from upstream")
	return nil
}

// TestFailedStepAnswer: a step failing in either phase answers 500 with
// the status line of 500 (not the upstream's "OK") and a body that names
// no step; the log names the route, the step and the error.
func TestFailedStepAnswer(t *testing.T) {
	for _, phase := range []plugin.Phase{plugin.PhaseRequest, plugin.PhaseResponse} {
		var logs bytes.Buffer
		r := NewRoute("canary", newChain("canary", []*step{{label: "scripts/canary.lua", req: failingStep{phase}, resp: failingStep{phase}}}, nil, nil),
			statusUpstream{})
		fc := &fasthttp.RequestCtx{}
		fc.Init(&fasthttp.Request{}, nil, nil)
		c := reqctx.Acquire(fc)
		c.Setup(&r.Route, -1, nil, nil, slog.New(slog.NewTextHandler(&logs, nil)))
		c.SetRequestID([]byte("id-1"))
		r.Serve(c)
		reqctx.Release(c)
		line, _, _ := strings.Cut(string(fc.Response.Header.Header()), "\r\n")
		if line != "HTTP/1.1 500 Internal Server Error" {
			t.Errorf("%s phase: status line %q", phase, line)
		}
		if body := string(fc.Response.Body()); body != `{"error":"internal error","status":500,"request_id":"id-1"}`+"\n" {
			t.Errorf("%s phase: body %s", phase, body)
		}
		for _, want := range []string{"route=canary", "step=scripts/canary.lua", "phase=" + phase.String(), "scripts/canary.lua:"} {
			if !strings.Contains(logs.String(), want) {
				t.Errorf("%s phase: log lacks %q: %s", phase, want, logs.String())
			}
		}
	}
}

// deferStep defers a response header in the request phase and records,
// in the response phase, the header as it found it.
type deferStep struct {
	name string
	seen *[]string
}

func (d deferStep) OnRequest(c *plugin.Context) error {
	c.DeferResponseHeader(plugin.HeaderSet, "X-From-"+d.name, "1")
	return nil
}

func (d deferStep) OnResponse(c *plugin.Context) error {
	*d.seen = append(*d.seen, d.name+":"+string(c.Response.Header.Peek("X-From-A"))+","+string(c.Response.Header.Peek("X-From-B")))
	return nil
}

// TestDeferredResponseHeadersOnionOrder: a header a step sets on the
// response from its request phase is made when the response phase
// reaches that step: the steps it runs around (a cache after it) never
// see it, as they would not see what its response phase sets.
func TestDeferredResponseHeadersOnionOrder(t *testing.T) {
	var seen []string
	r := NewRoute("r", newChain("r", []*step{
		{label: "a", req: deferStep{"A", &seen}, resp: deferStep{"A", &seen}},
		{label: "b", req: deferStep{"B", &seen}, resp: deferStep{"B", &seen}},
	}, nil, nil), statusUpstream{})
	fc := &fasthttp.RequestCtx{}
	fc.Init(&fasthttp.Request{}, nil, nil)
	c := reqctx.Acquire(fc)
	c.Setup(&r.Route, -1, nil, nil, nil)
	r.Serve(c)
	reqctx.Release(c)
	if got := strings.Join(seen, " "); got != "B:,1 A:1,1" {
		t.Errorf("seen in the response phase: %q, want B:,1 A:1,1 (B, inner, never sees A's)", got)
	}
	if string(fc.Response.Header.Peek("X-From-A")) != "1" || string(fc.Response.Header.Peek("X-From-B")) != "1" {
		t.Errorf("response: %s", fc.Response.Header.Header())
	}
}
