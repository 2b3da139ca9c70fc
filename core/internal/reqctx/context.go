package reqctx

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/realip"
	"github.com/moongate/moongate/core/router"
	"github.com/moongate/moongate/core/tracecontext"
	"github.com/valyala/fasthttp"
)

// Phase is the part of a request's life a step is called in; plugin.Phase
// has the same values.
type Phase uint8

// The phases, in the order a request goes through them.
const (
	PhaseNone Phase = iota
	PhaseRequest
	PhaseResponse
	PhaseLog
)

// String returns the phase's name as scripts know it: "request", "response", "log".
func (p Phase) String() string {
	switch p {
	case PhaseRequest:
		return "request"
	case PhaseResponse:
		return "response"
	case PhaseLog:
		return "log"
	}
	return "none"
}

// HeaderOp is a change of a header; plugin.HeaderOp has the same values.
type HeaderOp uint8

// The header changes.
const (
	HeaderSet HeaderOp = iota
	HeaderAdd
	HeaderDel
)

// Upstream is where a request is sent: implemented by core/upstream's
// Upstream. An *plugin.Error return carries the status to answer (502,
// 503, 504).
type Upstream interface {
	Name() string
	Forward(c *Context) error
}

// UpstreamLookup finds an upstream of the current configuration by name;
// nil when there is none.
type UpstreamLookup func(name string) Upstream

// ProxyOptions are a route's overrides of its upstream's timeouts and
// retries, and what it lets through; zero durations mean the upstream's.
type ProxyOptions struct {
	Timeout        time.Duration // one try
	ConnectTimeout time.Duration
	Deadline       time.Duration // all tries
	// Retries is the most retries: 0 for the upstream's setting, negative
	// for none.
	Retries int
	// RetryNonIdempotent lets non-idempotent methods be retried.
	RetryNonIdempotent bool
	// WebSocket lets "Upgrade: websocket" requests through.
	WebSocket bool
	// PreserveHost sends the client's Host header upstream.
	PreserveHost bool
}

// Route is what a request knows of its route. The engine
// (core/internal/chain) compiles one per [[routes]], inside its own
// route, and never changes it.
type Route struct {
	// Name is the route's name.
	Name string
	// Upstream is the route's upstream, nil if it has none.
	Upstream Upstream
	// Proxy holds the route's settings of its upstream call.
	Proxy ProxyOptions
	// Engine is the engine's side of the route.
	Engine Engine
	// HasLog reports whether the route's chain has a log phase.
	HasLog bool
	// Steps are the names of the steps of the route's chain (plugin names
	// or script paths), in order.
	Steps []string
	// Index is the route's place in the configuration's [[routes]],
	// from 0: the index of per-route tables (metrics); -1 for a route
	// outside a configuration.
	Index int
}

// Engine is the engine's side of a route: implemented by chain.Route.
type Engine interface {
	// Forward sends c's request to c's upstream the way the route does
	// once its request phase is over, and fills c.Response; a failure
	// becomes the gateway's error response.
	Forward(c *Context)
}

const maxValues = 8

type value struct {
	key string
	val any
}

type headerOp struct {
	op          HeaderOp
	depth       int // the step that asked, 1-based
	name, value []byte
}

// Context is one request on its way through a chain; see plugin.Context
// for what steps may do with it. It comes from a pool (Acquire) and goes
// back to it (Release), reset field by field.
type Context struct {
	// Fast is fasthttp's context of the request; nil in the log phase and
	// in a detached context.
	Fast *fasthttp.RequestCtx
	// Request is the request as it will be sent upstream.
	Request *fasthttp.Request
	// Response is the response: the upstream's, or one a step produced.
	Response *fasthttp.Response
	// Consumer is the authenticated consumer, nil until an auth step sets it.
	Consumer *consumer.Consumer
	// Params are the route's path parameters ("/users/{id}").
	Params router.Params

	route      *Route
	upstream   Upstream
	phase      Phase
	depth      int  // how many steps' request phase ran
	answered   bool // the response is final: skip the rest of the request phase and the upstream
	pathSet    bool // a step set the upstream path: no strip_prefix or rewrite
	detached   bool // made by Detach
	target     string
	prefixSegs int // segments of the matched prefix pattern, -1 for non-prefix
	tls        bool
	localPort  int
	remote     netip.Addr
	clientIP   netip.Addr
	trusted    *realip.Trusted
	upstreams  UpstreamLookup
	logger     *slog.Logger // the process logger
	stepLogger *slog.Logger // the running step's, tagged with route and step; nil outside a step
	start      time.Time
	upstreamAt time.Duration // time spent on the upstream call (SetUpstreamTime)
	end        time.Time     // when the response's write ended (WriteEnded)
	bodySize   int           // in the log phase: body bytes sent
	incomplete bool          // the response was not written whole
	reqBody    int64         // in the log phase: request body bytes read

	// The upstream call (UpstreamTry): the last target tried, its status,
	// when the first try started and the last one ended, how many tries.
	upTarget       string
	upStatus       int
	upStart, upEnd time.Time
	upTries        int

	// The path the request was routed with, for the log phase
	// (KeepRoutedPath).
	routedPath []byte
	routedSet  bool
	requestID  []byte
	values     [maxValues]value
	nvalues    int
	extra      []value
	scratch    []byte
	cacheKey   []byte // parts added by AddCacheKey: uvarint length, bytes
	tr         traceState

	// Response header changes asked for before the response existed.
	respHeaders []headerOp

	// The client's headers as they reached the chain, when a step asked
	// for them (plugin.OriginalHeadersUser).
	orig    fasthttp.RequestHeader
	origSet bool

	// How long each step took in each phase (SetStepTime), by step
	// index and phase; rows below timedSteps may be set.
	stepTimes  [MaxTimedSteps][3]time.Duration
	timedSteps int

	// Copies of the headers, for the log phase; logUsed: PrepareLog or
	// PrepareCaptured pointed Request and Response at them.
	logReq  fasthttp.Request
	logResp fasthttp.Response
	logUsed bool
	done    func(*Context)

	// The log phase waits for the steps that hold it (HoldLog): the
	// engine queues it once it is done with the request (logFinished)
	// and no hold is left, whichever comes last; logQueued makes it once.
	logHolds    atomic.Int32
	logFinished atomic.Bool
	logQueued   atomic.Bool
	logQueue    func(*Context)

	// What the log steps captured before the write (chain.PrepareLog).
	captured  [MaxCaptured]Captured
	ncaptured int
}

var pool = sync.Pool{New: func() any { return &Context{prefixSegs: -1} }}

// Acquire returns a Context for fc from the pool. The gateway calls it
// once per request.
func Acquire(fc *fasthttp.RequestCtx) *Context {
	c := pool.Get().(*Context)
	c.Fast = fc
	c.Request = &fc.Request
	c.Response = &fc.Response
	c.tls = fc.IsTLS()
	if a, ok := fc.LocalAddr().(*net.TCPAddr); ok {
		c.localPort = a.Port
	}
	c.start = fc.Time()
	if c.start.IsZero() {
		c.start = time.Now()
	}
	if a, ok := addrOf(fc.RemoteAddr()); ok {
		c.remote = a
	}
	return c
}

// Release resets c field by field and returns it to the pool.
func Release(c *Context) {
	c.Fast, c.Request, c.Response = nil, nil, nil
	c.route, c.upstream, c.Consumer = nil, nil, nil
	c.Params.Reset()
	c.phase, c.depth, c.answered, c.pathSet, c.detached, c.prefixSegs = PhaseNone, 0, false, false, false, -1
	c.target = ""
	c.tls, c.localPort, c.remote, c.clientIP = false, 0, netip.Addr{}, netip.Addr{}
	c.trusted, c.upstreams, c.logger, c.stepLogger = nil, nil, nil, nil
	clear(c.stepTimes[:c.timedSteps])
	c.timedSteps = 0
	c.start, c.end, c.bodySize, c.incomplete, c.reqBody = time.Time{}, time.Time{}, 0, false, 0
	c.upTarget, c.upStatus, c.upStart, c.upEnd, c.upTries = "", 0, time.Time{}, time.Time{}, 0
	c.routedPath, c.routedSet = c.routedPath[:0], false
	c.upstreamAt = 0
	c.requestID = c.requestID[:0]
	for i := 0; i < c.nvalues; i++ {
		c.values[i] = value{}
	}
	c.nvalues = 0
	clear(c.extra)
	c.extra = c.extra[:0]
	c.scratch = c.scratch[:0]
	c.cacheKey = c.cacheKey[:0]
	c.tr.trace = tracecontext.Trace{}
	c.respHeaders = c.respHeaders[:0]
	if c.origSet {
		c.orig.Reset()
		c.origSet = false
	}
	if c.logUsed {
		c.logReq.Reset()
		c.logResp.Reset()
		c.logUsed = false
	}
	c.done = nil
	c.logHolds.Store(0)
	c.logFinished.Store(false)
	c.logQueued.Store(false)
	c.logQueue = nil
	clear(c.captured[:c.ncaptured])
	c.ncaptured = 0
	pool.Put(c)
}

func addrOf(a net.Addr) (netip.Addr, bool) {
	switch x := a.(type) {
	case *net.TCPAddr:
		ip, ok := netip.AddrFromSlice(x.IP)
		return ip.Unmap(), ok
	case *net.UDPAddr:
		ip, ok := netip.AddrFromSlice(x.IP)
		return ip.Unmap(), ok
	}
	return netip.Addr{}, false
}

// Setup attaches the per-configuration parts to c: the route (nil for
// none) and its matched prefix (segments of a prefix pattern, -1 for
// other patterns), trusted proxies, the upstream lookup and the logger.
// Called by the gateway after routing.
func (c *Context) Setup(r *Route, prefixSegs int, trusted *realip.Trusted, upstreams UpstreamLookup, logger *slog.Logger) {
	c.route = r
	if r != nil {
		c.upstream = r.Upstream
	}
	c.prefixSegs = prefixSegs
	c.trusted = trusted
	c.upstreams = upstreams
	c.logger = logger
}

// Route returns the request's route, nil for none.
func (c *Context) Route() *Route { return c.route }

// RouteName returns the route's name, "" for none.
func (c *Context) RouteName() string {
	if c.route == nil {
		return ""
	}
	return c.route.Name
}

// Upstream returns where the request goes, nil for nowhere.
func (c *Context) Upstream() Upstream { return c.upstream }

// UpstreamName returns the name of Upstream, "" for none.
func (c *Context) UpstreamName() string {
	if c.upstream == nil {
		return ""
	}
	return c.upstream.Name()
}

// Rerouted reports whether the request goes elsewhere than its route's
// upstream: to another upstream, or to one target.
func (c *Context) Rerouted() bool {
	return c.route == nil || c.upstream != c.route.Upstream || c.target != ""
}

// Phase returns the phase the context is in.
func (c *Context) Phase() Phase { return c.phase }

// SetPhase sets the phase the context is in.
func (c *Context) SetPhase(p Phase) { c.phase = p }

// Depth returns how many steps' request phase ran.
func (c *Context) Depth() int { return c.depth }

// SetDepth records that the request phase reached step d (1-based).
func (c *Context) SetDepth(d int) { c.depth = d }

// Method returns the request method.
func (c *Context) Method() []byte { return c.Request.Header.Method() }

// Host returns the Host header as the client sent it.
func (c *Context) Host() []byte { return c.Request.Header.Host() }

// Path returns the normalized path.
func (c *Context) Path() []byte { return c.Request.URI().Path() }

// SetPath sets the path sent upstream; strip_prefix and rewrite no longer
// apply.
func (c *Context) SetPath(p []byte) {
	c.SetUpstreamPath(p)
	c.pathSet = true
}

// SetUpstreamPath sets the path sent upstream, percent-encoded where
// needed, as strip_prefix and rewrite do.
func (c *Context) SetUpstreamPath(p []byte) {
	c.scratch = appendQuotedPath(c.scratch[:0], p)
	c.Request.URI().SetPathBytes(c.scratch)
}

// PathSet reports whether a step set the upstream path (SetPath).
func (c *Context) PathSet() bool { return c.pathSet }

// PrefixSegs returns the segments of the matched prefix pattern, -1 when
// the route's path that matched is not a prefix.
func (c *Context) PrefixSegs() int { return c.prefixSegs }

// Scheme returns "https" for requests that came over TLS, else "http".
func (c *Context) Scheme() string {
	if c.tls {
		return "https"
	}
	return "http"
}

// IsTLS reports whether the request came over TLS.
func (c *Context) IsTLS() bool { return c.tls }

// LocalPort returns the port of the listener the request came in on.
func (c *Context) LocalPort() int { return c.localPort }

// KeepOriginalHeaders copies the request headers, as they reached the
// chain, for OriginalHeaders.
func (c *Context) KeepOriginalHeaders() {
	c.Request.Header.CopyTo(&c.orig)
	c.origSet = true
}

// OriginalHeaders returns the headers KeepOriginalHeaders copied, or nil.
func (c *Context) OriginalHeaders() *fasthttp.RequestHeader {
	if !c.origSet {
		return nil
	}
	return &c.orig
}

// DeferResponseHeader records a change of a response header that the
// running step (Depth) asks for before the response exists.
func (c *Context) DeferResponseHeader(op HeaderOp, name, value string) {
	n := len(c.respHeaders)
	if n < cap(c.respHeaders) {
		c.respHeaders = c.respHeaders[:n+1]
	} else {
		c.respHeaders = append(c.respHeaders, headerOp{})
	}
	h := &c.respHeaders[n]
	h.op, h.depth = op, c.depth
	h.name = append(h.name[:0], name...)
	h.value = append(h.value[:0], value...)
}

// HasDeferredHeaders reports whether changes DeferResponseHeader recorded
// are yet to be made.
func (c *Context) HasDeferredHeaders() bool { return len(c.respHeaders) > 0 }

// ApplyResponseHeaders makes, in order, the changes DeferResponseHeader
// recorded for the steps from depth on (1-based), and forgets them.
// Steps record in chain order, so theirs are the end of the list.
func (c *Context) ApplyResponseHeaders(depth int) {
	i := len(c.respHeaders)
	for i > 0 && c.respHeaders[i-1].depth >= depth {
		i--
	}
	for _, h := range c.respHeaders[i:] {
		switch h.op {
		case HeaderSet:
			c.Response.Header.SetBytesKV(h.name, h.value)
		case HeaderAdd:
			c.Response.Header.AddBytesKV(h.name, h.value)
		case HeaderDel:
			c.Response.Header.DelBytes(h.name)
		}
	}
	c.respHeaders = c.respHeaders[:i]
}

// RemoteAddr returns the address of the peer connected to the gateway.
func (c *Context) RemoteAddr() netip.Addr { return c.remote }

// ClientIP returns the real client address (see plugin.Context.ClientIP).
func (c *Context) ClientIP() netip.Addr {
	if !c.clientIP.IsValid() {
		c.clientIP = c.remote
		if c.trusted.Contains(c.remote) {
			c.clientIP = c.trusted.ClientIP(c.remote, c.Request.Header.PeekAll("X-Forwarded-For")...)
		}
	}
	return c.clientIP
}

// Trusted returns the proxies whose forwarding headers are believed.
func (c *Context) Trusted() *realip.Trusted { return c.trusted }

// Start returns when the request started.
func (c *Context) Start() time.Time { return c.start }

// Logger returns the running step's logger, tagged with the route and
// the step (see SetStepLogger); outside a step, the process logger.
func (c *Context) Logger() *slog.Logger {
	if c.stepLogger != nil {
		return c.stepLogger
	}
	if c.logger == nil {
		return slog.Default()
	}
	return c.logger
}

// SetStepLogger makes l the logger of the step about to run, nil when
// it has returned. The engine calls it around each phase of a step.
func (c *Context) SetStepLogger(l *slog.Logger) { c.stepLogger = l }

// LogAttrs logs msg with the route and request ID attached (the step's
// logger has the route already, and the step).
func (c *Context) LogAttrs(level slog.Level, msg string, attrs ...slog.Attr) {
	l := c.Logger()
	if !l.Enabled(context.Background(), level) {
		return
	}
	extra := make([]slog.Attr, 0, len(attrs)+2)
	if c.route != nil && c.stepLogger == nil {
		extra = append(extra, slog.String("route", c.route.Name))
	}
	if len(c.requestID) > 0 {
		extra = append(extra, slog.String("request_id", string(c.requestID)))
	}
	l.LogAttrs(context.Background(), level, msg, append(extra, attrs...)...)
}

// MaxTimedSteps is how many steps of a chain have their times kept on
// the context (StepTime); the engine times the steps past it for its
// observer only.
const MaxTimedSteps = 16

// SetStepTime records that the step at index i of the chain took d in
// phase p. The engine calls it as each step returns.
func (c *Context) SetStepTime(i int, p Phase, d time.Duration) {
	if i < 0 || i >= MaxTimedSteps || p < PhaseRequest || p > PhaseLog {
		return
	}
	c.stepTimes[i][p-PhaseRequest] = d
	c.timedSteps = max(c.timedSteps, i+1)
}

// StepTime returns how long the step at index i took in phase p of this
// request (see plugin.Context.StepTime); 0 when it has not run that phase.
func (c *Context) StepTime(i int, p Phase) time.Duration {
	if i < 0 || i >= MaxTimedSteps || p < PhaseRequest || p > PhaseLog {
		return 0
	}
	return c.stepTimes[i][p-PhaseRequest]
}

// StepName returns the name of the step at index i of the route's chain
// (see plugin.Context.StepName); "" past the chain's end.
func (c *Context) StepName(i int) string {
	if c.route == nil || i < 0 || i >= len(c.route.Steps) {
		return ""
	}
	return c.route.Steps[i]
}

// SetUpstreamTime records how long the upstream call took: all tries, up
// to the response's headers. The engine sets it when it times the call.
func (c *Context) SetUpstreamTime(d time.Duration) { c.upstreamAt = d }

// UpstreamTime returns how long the upstream call took; 0 when the
// request did not go upstream, or the call was not timed.
func (c *Context) UpstreamTime() time.Duration { return c.upstreamAt }

// RequestID returns the request's ID; nil if none.
func (c *Context) RequestID() []byte { return c.requestID }

// SetRequestID sets the request's ID (copied).
func (c *Context) SetRequestID(id []byte) { c.requestID = append(c.requestID[:0], id...) }

// Value returns the per-request value stored under key, or nil.
func (c *Context) Value(key string) any {
	for i := 0; i < c.nvalues; i++ {
		if c.values[i].key == key {
			return c.values[i].val
		}
	}
	for _, v := range c.extra {
		if v.key == key {
			return v.val
		}
	}
	return nil
}

// SetValue stores a per-request value under key; a nil val deletes it.
func (c *Context) SetValue(key string, val any) {
	for i := 0; i < c.nvalues; i++ {
		if c.values[i].key == key {
			c.values[i].val = val
			return
		}
	}
	for i := range c.extra {
		if c.extra[i].key == key {
			c.extra[i].val = val
			return
		}
	}
	if val == nil {
		return
	}
	if c.nvalues < maxValues {
		c.values[c.nvalues] = value{key, val}
		c.nvalues++
		return
	}
	c.extra = append(c.extra, value{key, val})
}

// VisitValues calls f for every per-request value.
func (c *Context) VisitValues(f func(key string, val any)) {
	for i := 0; i < c.nvalues; i++ {
		if c.values[i].val != nil {
			f(c.values[i].key, c.values[i].val)
		}
	}
	for _, v := range c.extra {
		if v.val != nil {
			f(v.key, v.val)
		}
	}
}

// AddCacheKey adds part (copied) to the request's cache key.
func (c *Context) AddCacheKey(part []byte) {
	c.cacheKey = binary.AppendUvarint(c.cacheKey, uint64(len(part)))
	c.cacheKey = append(c.cacheKey, part...)
}

// CacheKey returns the parts added by AddCacheKey, each as a uvarint
// length followed by its bytes, in order.
func (c *Context) CacheKey() []byte { return c.cacheKey }

// VisitCacheKey calls f with each part added by AddCacheKey, in order.
func (c *Context) VisitCacheKey(f func(part []byte)) {
	b := c.cacheKey
	for len(b) > 0 {
		n, w := binary.Uvarint(b)
		if w <= 0 || uint64(len(b)-w) < n {
			return
		}
		f(b[w : w+int(n)])
		b = b[w+int(n):]
	}
}

// SetUpstream sends the request to the upstream called name; false,
// changing nothing, if there is no such upstream.
func (c *Context) SetUpstream(name string) bool {
	if c.upstreams == nil {
		return false
	}
	u := c.upstreams(name)
	if u == nil {
		return false
	}
	c.upstream = u
	return true
}

// SetTarget sends this request to one server instead of a target picked
// by the upstream's balancer.
func (c *Context) SetTarget(url string) { c.target = url }

// Target returns the target set by SetTarget, or "".
func (c *Context) Target() string { return c.target }

// Respond answers the request with status, content type and body
// (copied) and stops the request phase.
func (c *Context) Respond(status int, contentType string, body []byte) {
	c.Response.Reset()
	c.Response.SetStatusCode(status)
	if contentType != "" {
		c.Response.Header.SetContentType(contentType)
	}
	c.Response.SetBody(body)
	c.ApplyResponseHeaders(0)
	c.answered = true
}

// Stop ends the request phase with the response in c.Response.
func (c *Context) Stop() { c.answered = true }

// Answered reports whether the response is final.
func (c *Context) Answered() bool { return c.answered }

// Error answers the request with the gateway's JSON error format and
// stops the request phase.
func (c *Context) Error(status int, message string) {
	WriteError(c.Response, status, message, c.requestID)
	c.answered = true
}

// RequestBody returns the request body when it was read whole, and
// streamed = true, with no body, when it streams to the upstream.
func (c *Context) RequestBody() (body []byte, streamed bool) {
	if c.Request.IsBodyStream() {
		return nil, true
	}
	return c.Request.Body(), false
}

// bodyLimiter is implemented by the streamed request bodies of
// core/upstream.
type bodyLimiter interface {
	io.Reader
	Limit(n int64)
}

// LimitRequestBody lowers the most bytes a streamed request body may
// have; see plugin.Context.LimitRequestBody.
func (c *Context) LimitRequestBody(n int64) {
	if !c.Request.IsBodyStream() {
		return
	}
	if l, ok := c.Request.BodyStream().(bodyLimiter); ok {
		l.Limit(n)
	}
}

// WriteEnded records that the write of the response ended at end, with
// sent body bytes taken by the client's connection (negative: unknown),
// whole or not. The gateway calls it before the log phase.
func (c *Context) WriteEnded(end time.Time, sent int64, complete bool) {
	c.end, c.bodySize, c.incomplete = end, int(sent), !complete
}

// UpstreamTry records a try of the upstream call on target (host:port),
// from start to end, answered with status (0: no answer). The upstream
// calls it after each try.
func (c *Context) UpstreamTry(target string, status int, start, end time.Time) {
	if c.upTries == 0 {
		c.upStart = start
	}
	c.upTries++
	c.upTarget, c.upStatus, c.upEnd = target, status, end
}

// UpstreamResult is how the upstream call of a request went; see
// plugin.UpstreamResult.
type UpstreamResult struct {
	Target  string
	Status  int
	Time    time.Duration
	Retries int
}

// UpstreamResult returns how the upstream call went; zero when there was none.
func (c *Context) UpstreamResult() UpstreamResult {
	if c.upTries == 0 {
		return UpstreamResult{}
	}
	return UpstreamResult{Target: c.upTarget, Status: c.upStatus, Time: c.upEnd.Sub(c.upStart), Retries: c.upTries - 1}
}

// RequestBodySize returns, in the log phase, the request body bytes read
// from the client (see PrepareLog); before it, the size of a body read
// whole, or what a streamed one has read so far.
func (c *Context) RequestBodySize() int64 {
	if c.phase == PhaseLog {
		return c.reqBody
	}
	return requestBodySize(c.Request)
}

// bodyCounter is implemented by the streamed request bodies of
// core/upstream.
type bodyCounter interface{ BytesRead() int64 }

func requestBodySize(r *fasthttp.Request) int64 {
	if !r.IsBodyStream() {
		return int64(len(r.Body()))
	}
	if bc, ok := r.BodyStream().(bodyCounter); ok {
		return bc.BytesRead()
	}
	return 0
}

// KeepRoutedPath copies the path the request was routed with, so that
// the log phase sees it whatever the upstream call made of the request's
// path (strip_prefix, rewrite, SetPath). The engine calls it before the
// chain of a route with log steps.
func (c *Context) KeepRoutedPath() {
	c.routedPath = append(c.routedPath[:0], c.Request.URI().Path()...)
	c.routedSet = true
}

// RequestTime returns the time from Start to the end of the response's
// write; before the write has ended, the time so far.
func (c *Context) RequestTime() time.Duration {
	if c.end.IsZero() {
		return time.Since(c.start)
	}
	return c.end.Sub(c.start)
}

// ResponseComplete reports whether the response was written whole; true
// until its write has ended.
func (c *Context) ResponseComplete() bool { return !c.incomplete }

// BodySize returns the size of the response body written to the client.
func (c *Context) BodySize() int {
	if c.phase == PhaseLog {
		return c.bodySize
	}
	return responseBodySize(c.Response)
}

// streamTaker is implemented by streamed response bodies a step may take
// over (core/upstream's).
type streamTaker interface {
	Take() io.ReadCloser
}

// TakeResponseStream takes over the streamed response body; see
// plugin.Context.TakeResponseStream.
func (c *Context) TakeResponseStream() io.ReadCloser {
	if t, ok := c.Response.BodyStream().(streamTaker); ok {
		return t.Take()
	}
	return nil
}

// responseBodySize is the size of a buffered body, or the announced size of
// a streamed one (negative when unknown): asking a streamed response for its
// Body would read the whole stream into memory.
func responseBodySize(r *fasthttp.Response) int {
	if r.IsBodyStream() {
		return r.Header.ContentLength()
	}
	return len(r.Body())
}

// Scratch returns a reusable buffer owned by the context, emptied.
func (c *Context) Scratch() []byte { return c.scratch[:0] }

// KeepScratch stores b (from Scratch, grown by append) so its capacity is
// reused.
func (c *Context) KeepScratch(b []byte) { c.scratch = b[:0] }

// appendQuotedPath percent-encodes what must be encoded in a path: the
// result, decoded, is p again (so "%" becomes "%25", keeping a decoded
// "%2e%2e" from turning into ".." on the way).
func appendQuotedPath(dst, p []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, ch := range p {
		if pathSafe[ch] {
			dst = append(dst, ch)
		} else {
			dst = append(dst, '%', hex[ch>>4], hex[ch&0xf])
		}
	}
	return dst
}

var pathSafe = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-._~!$&'()*+,;=:@/" {
		t[c] = true
	}
	return t
}()
