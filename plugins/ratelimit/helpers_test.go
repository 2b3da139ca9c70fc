package ratelimit

import (
	"bytes"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/valyala/fasthttp"
)

// upstream is a synthetic upstream that answers 200 "ok" and counts.
type upstream struct{ hits atomic.Int64 }

func (u *upstream) Name() string { return "up" }

func (u *upstream) Forward(c *plugin.Context) error {
	u.hits.Add(1)
	c.Response.SetStatusCode(200)
	c.Response.SetBodyString("ok")
	return nil
}

// chainOf builds a route's chain from steps written in TOML ("[[routes.plugins]]"
// blocks), as the gateway would: problems come back as file:line: key: reason.
func chainOf(t testing.TB, steps string, opts ...func(*plugintest.Options)) (*plugintest.Chain, *upstream, error) {
	t.Helper()
	src := "[[routes]]\nname = \"api\"\npaths = [\"/\"]\n" + steps
	cfg, err := config.Parse("test.toml", []byte(src))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	up := &upstream{}
	o := plugintest.Options{Config: cfg, Route: "api", Steps: cfg.Routes[0].Plugins, Upstream: up}
	for _, f := range opts {
		f(&o)
	}
	ch, err := plugintest.NewChain(o)
	if err == nil {
		t.Cleanup(func() { ch.Close() })
	}
	return ch, up, err
}

func mustChain(t testing.TB, steps string, opts ...func(*plugintest.Options)) (*plugintest.Chain, *upstream) {
	t.Helper()
	ch, up, err := chainOf(t, steps, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return ch, up
}

// response is what a client got.
type response struct {
	status  int
	body    string
	headers map[string]string
}

// serve runs one request from addr through ch; headers are name, value
// pairs; setup runs on the context before the chain (a consumer, ...).
func serve(t testing.TB, ch *plugintest.Chain, addr string, setup func(*plugin.Context), headers ...string) response {
	t.Helper()
	var req fasthttp.Request
	req.SetRequestURI("http://gw/things/1")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	fc := &fasthttp.RequestCtx{}
	ta, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fc.Init(&req, ta, nil)
	c := ch.Context(fc)
	if setup != nil {
		setup(c)
	}
	ch.Serve(c)
	r := response{status: c.Response.StatusCode(), body: string(c.Response.Body()), headers: map[string]string{}}
	for k, v := range c.Response.Header.All() {
		r.headers[string(k)] = string(v)
	}
	if err := ch.Finish(c); err != nil {
		t.Fatal(err)
	}
	return r
}

// logBuffer is a logger writing to a buffer, safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
