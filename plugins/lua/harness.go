package lua

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/moongate/moongate/core/store"
	"github.com/valyala/fasthttp"
)

// Harness runs one script against synthetic requests, without a gateway:
// the script runs as the only step of a route, through the same chain
// runtime, pool and sandbox as in the gateway, and the upstream is
// replaced by a synthetic response. It backs `moongate script run` and
// the gwtest module of `moongate script test`. A Harness is used by one
// goroutine at a time.
//
// Like a server on a keep-alive connection, a Harness reuses one
// fasthttp request context for all its runs: what a reused request or
// response keeps from the one before (fasthttp keeps the buffers of
// Content-Type, User-Agent and other headers it holds as fields) shows
// in tests as it would in the gateway.
type Harness struct {
	path      string
	chain     *plugintest.Chain
	up        *fakeUpstream
	ns        *store.Namespace
	upstreams map[string]bool // nil: any name is accepted
	logs      *logCapture
	req       fasthttp.Request
	fc        fasthttp.RequestCtx
}

// HarnessOptions configure a Harness.
type HarnessOptions struct {
	// Conf is the step's config table.
	Conf map[string]any
	// Dir is the folder `require` loads modules from; default: the
	// script's folder.
	Dir string
	// Timeout is the wall-clock deadline of each call; default 1s
	// (generous, so that tests do not depend on the machine's speed).
	Timeout time.Duration
	// MaxInstructions bounds the VM instructions of each call; default
	// lua.max_instructions' default, as in the gateway.
	MaxInstructions int64
	// OnError is the step's on_error: "fail" (default) or "continue".
	OnError string
	// Upstreams are the upstream names gw.upstream.set_upstream accepts;
	// nil accepts any name.
	Upstreams []string
	// Cache is the shared cache; nil makes a small one.
	Cache *store.Store
	// RateLimits are named rate limits (gw.ratelimit.check), by name: each
	// an entry of [[rate_limits]] without its name, such as
	// {"limits": [{"requests": 10, "per": "1s", "burst": 20}], "algorithm": "gcra"}.
	// Policy "redis" is refused (the harness has no Redis).
	RateLimits map[string]map[string]any
}

// NewHarness compiles the script at path for testing. Compile and load
// errors are returned as they would be by `moongate validate`.
func NewHarness(path string, o HarnessOptions) (*Harness, error) {
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	if o.OnError == "" {
		o.OnError = "fail"
	}
	if o.Dir == "" {
		o.Dir = filepath.Dir(path)
	}
	if o.Cache == nil {
		o.Cache = store.New(store.MinSize)
	}
	h := &Harness{path: path, ns: o.Cache.Namespace("lua:" + path), logs: &logCapture{}, up: &fakeUpstream{name: "default"}}
	if o.Upstreams != nil {
		h.upstreams = map[string]bool{}
		for _, u := range o.Upstreams {
			h.upstreams[u] = true
		}
	}
	cfg := config.Default()
	cfg.File = "(test)"
	cfg.Lua.Dir = o.Dir
	cfg.Lua.Timeout = config.Duration(o.Timeout)
	if o.MaxInstructions > 0 {
		cfg.Lua.MaxInstructions = o.MaxInstructions
	}
	names := make([]string, 0, len(o.RateLimits))
	for n := range o.RateLimits {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		cfg.RateLimits = append(cfg.RateLimits, config.RateLimit{Name: n,
			Config: config.NewTable("rate_limits["+strconv.Itoa(i)+"]", o.RateLimits[n])})
	}
	ch, err := plugintest.NewChain(plugintest.Options{
		Config: cfg,
		Steps: []config.Step{{
			Script: path, Enabled: true, OnError: o.OnError,
			Config: config.NewTable("routes[0].plugins[0].config", o.Conf),
		}},
		Store:     o.Cache,
		Logger:    slog.New(h.logs),
		Upstream:  h.up,
		Upstreams: h.lookup,
	})
	if err != nil {
		return nil, err
	}
	h.chain = ch
	return h, nil
}

// Close releases the script's resources.
func (h *Harness) Close() error { return h.chain.Close() }

// Cache returns the script's gw.cache namespace, to seed or inspect.
func (h *Harness) Cache() *store.Namespace { return h.ns }

// Header is one header line.
type Header struct{ Name, Value string }

// Request is a synthetic request.
type Request struct {
	Method   string // default "GET"
	Path     string // default "/"
	Query    string // raw query, without "?"
	Host     string // default "localhost"
	Headers  []Header
	Body     string
	ClientIP string // default "127.0.0.1"
	Params   map[string]string
	// Response is what the upstream answers, when it is called.
	Response Response
}

// Response is a synthetic upstream response.
type Response struct {
	Status  int // default 200
	Headers []Header
	Body    string
	// Stream makes the body stream, as the gateway streams server-sent
	// events and bodies over stream_threshold (gw.response.is_streamed).
	Stream bool
}

// LogLine is one log record the script (or the chain) wrote.
type LogLine struct {
	Level   string
	Message string
	Line    int    // script line for gw.log, 0 otherwise
	Error   string // the error, for "step failed"
}

// Result is what the script did to a request.
type Result struct {
	// Status, Headers and Body are the response sent to the client.
	Status  int
	Headers []Header
	Body    string
	// UpstreamCalled is false when a step answered (gw.response.exit) or
	// the request failed before the upstream.
	UpstreamCalled bool
	// Upstream is the upstream the request went to.
	Upstream string
	// Target is the target set with gw.upstream.set_target, or "".
	Target string
	// Method, Path, Query, RequestHeaders and RequestBody are the request
	// as sent upstream (or as it stood when a step answered).
	Method         string
	Path           string
	Query          string
	RequestHeaders []Header
	RequestBody    string
	// Values are the per-request values (gw.ctx) at the end.
	Values map[string]any
	// CacheKey are the parts added to the cache key (gw.cache_key.add),
	// in order.
	CacheKey []string
	// Logs are the log lines written while serving the request.
	Logs []LogLine
	// Error is the script's error, "" when it did not fail.
	Error string
}

// Run serves one synthetic request: on_request, the synthetic upstream
// unless the script answered, on_response, then on_log.
func (h *Harness) Run(r Request) (*Result, error) {
	req := &h.req
	req.Reset()
	if r.Method == "" {
		r.Method = "GET"
	}
	if r.Path == "" {
		r.Path = "/"
	}
	if !strings.HasPrefix(r.Path, "/") {
		return nil, errors.New("path must start with \"/\"")
	}
	if r.Host == "" {
		r.Host = "localhost"
	}
	uri := r.Path
	if r.Query != "" {
		uri += "?" + r.Query
	}
	req.Header.SetMethod(r.Method)
	req.SetRequestURI(uri)
	req.Header.SetHost(r.Host)
	for _, hd := range r.Headers {
		req.Header.Add(hd.Name, hd.Value)
	}
	if r.Body != "" {
		req.SetBodyString(r.Body)
	}
	ip := net.ParseIP(r.ClientIP)
	if ip == nil {
		ip = net.IPv4(127, 0, 0, 1)
	}
	fc := &h.fc
	fc.Response.Reset()
	fc.Init(req, &net.TCPAddr{IP: ip, Port: 40000}, nil)

	h.logs.reset()
	h.up.resp, h.up.res = r.Response, &Result{}
	res := h.up.res
	c := h.chain.Context(fc)
	names := make([]string, 0, len(r.Params))
	for k := range r.Params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		c.Params.Set(k, []byte(r.Params[k]))
	}
	h.chain.Serve(c)
	if !res.UpstreamCalled {
		res.snapshotRequest(c)
	}
	res.Status = fc.Response.StatusCode()
	if len(fc.Response.Header.Peek("Content-Length")) == 0 && !fc.Response.IsBodyStream() {
		// The server writes Content-Length from the body; show it as the
		// client gets it.
		if st := res.Status; st >= 200 && st != 204 && st != 304 {
			res.Headers = append(res.Headers, Header{"Content-Length", strconv.Itoa(len(fc.Response.Body()))})
		}
	}
	for k, v := range fc.Response.Header.All() {
		res.Headers = append(res.Headers, Header{string(k), string(v)})
	}
	res.Body = string(fc.Response.Body())
	res.Values = map[string]any{}
	c.VisitValues(func(k string, v any) { res.Values[k] = v })
	c.VisitCacheKey(func(part []byte) { res.CacheKey = append(res.CacheKey, string(part)) })
	if err := h.chain.Finish(c); err != nil {
		return nil, err
	}
	res.Logs = h.logs.take()
	for _, l := range res.Logs {
		if l.Message == "step failed" && res.Error == "" {
			res.Error = l.Error
		}
	}
	return res, nil
}

func (res *Result) snapshotRequest(c *plugin.Context) {
	res.Method = string(c.Request.Header.Method())
	res.Path = string(c.Request.URI().Path())
	// The query as sent: RequestURI has set_query_arg's changes, which
	// QueryString (the client's) does not.
	_, q, _ := strings.Cut(string(c.Request.URI().RequestURI()), "?")
	res.Query = q
	res.RequestHeaders = res.RequestHeaders[:0]
	for k, v := range c.Request.Header.All() {
		res.RequestHeaders = append(res.RequestHeaders, Header{string(k), string(v)})
	}
	res.RequestBody = string(c.Request.Body())
	res.Upstream = c.UpstreamName()
	res.Target = c.Target()
}

func (h *Harness) lookup(name string) plugintest.Upstream {
	if h.upstreams != nil && !h.upstreams[name] {
		return nil
	}
	return &namedUpstream{name: name, up: h.up}
}

// fakeUpstream records the request and answers with the synthetic response.
type fakeUpstream struct {
	name string
	resp Response
	res  *Result
}

func (f *fakeUpstream) Name() string { return f.name }

func (f *fakeUpstream) Forward(c *plugin.Context) error {
	f.res.UpstreamCalled = true
	f.res.snapshotRequest(c)
	st := f.resp.Status
	if st == 0 {
		st = 200
	}
	c.Response.SetStatusCode(st)
	c.Response.Header.SetNoDefaultContentType(true)
	for _, hd := range f.resp.Headers {
		c.Response.Header.Add(hd.Name, hd.Value)
	}
	if f.resp.Stream {
		c.Response.SetBodyStream(strings.NewReader(f.resp.Body), -1)
		return nil
	}
	c.Response.SetBodyString(f.resp.Body)
	return nil
}

// namedUpstream is the synthetic upstream under another name.
type namedUpstream struct {
	name string
	up   *fakeUpstream
}

func (n *namedUpstream) Name() string                    { return n.name }
func (n *namedUpstream) Forward(c *plugin.Context) error { return n.up.Forward(c) }

// logCapture is a slog.Handler keeping the records of one run.
type logCapture struct {
	mu    sync.Mutex
	lines []LogLine
}

func (l *logCapture) reset() { l.mu.Lock(); l.lines = nil; l.mu.Unlock() }

func (l *logCapture) take() []LogLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.lines
	l.lines = nil
	return out
}

func (l *logCapture) Enabled(context.Context, slog.Level) bool { return true }

func (l *logCapture) Handle(_ context.Context, r slog.Record) error {
	line := LogLine{Level: strings.ToLower(r.Level.String()), Message: r.Message}
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "line":
			line.Line = int(a.Value.Int64())
		case "error":
			line.Error = a.Value.String()
		}
		return true
	})
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
	return nil
}

func (l *logCapture) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCapture) WithGroup(string) slog.Handler      { return l }
