package chain

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/moongate/moongate/core/realip"
	"github.com/moongate/moongate/core/router"
	"github.com/valyala/fasthttp"
)

// Phase is the part of a request's life a step is called in.
type Phase uint8

// The phases, in the order a request goes through them.
const (
	PhaseNone     Phase = iota // not inside a step
	PhaseRequest               // RequestHandler.OnRequest
	PhaseResponse              // ResponseHandler.OnResponse
	PhaseLog                   // LogHandler.OnLog
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

// Forwarder sends a request to an upstream and fills c.Response. An
// *Error return carries the status to answer (502, 503, 504).
type Forwarder interface {
	Name() string
	Forward(c *Context) error
}

// UpstreamLookup finds an upstream of the current configuration by name.
type UpstreamLookup func(name string) Forwarder

// Consumer is the authenticated client of a request, set by an auth step.
// It is shared by every request of that consumer and must not be modified.
type Consumer struct {
	// Name is the consumer's name from [[consumers]].
	Name string
	// Groups are the consumer's groups, for ACLs.
	Groups []string
	// CredentialID names the credential that authenticated the request
	// (never the secret itself); "" for the anonymous consumer and for
	// consumers looked up by name.
	CredentialID string
	// Anonymous is true for the consumer a step gives a request that
	// presented no credentials (the steps' anonymous option).
	Anonymous bool
}

const maxValues = 8

type value struct {
	key string
	val any
}

// Context is one request on its way through a chain. It wraps fasthttp's
// RequestCtx (headers are read as []byte, without copies) and carries the
// route, the upstream, the consumer, path parameters and per-request values
// shared between steps.
//
// Lifetime: a Context comes from a pool and goes back to it when the
// request ends. Nothing may keep a Context, or a []byte taken from it or
// from its Request and Response, after the step that got it returns;
// copy what must outlive the call. A Context is used by one goroutine at a
// time.
type Context struct {
	// Fast is fasthttp's context of the request; nil in the log phase.
	Fast *fasthttp.RequestCtx
	// Request is the request as it will be sent upstream: steps may change
	// its headers and body. Change the path with SetPath.
	Request *fasthttp.Request
	// Response is the response: the upstream's, or one a step produced.
	Response *fasthttp.Response
	// Route is the matched route.
	Route *Route
	// Upstream is where the request goes; a step may change it with
	// SetUpstream. nil when the route has no upstream.
	Upstream Forwarder
	// Consumer is the authenticated consumer, nil until an auth step sets it.
	Consumer *Consumer
	// Params are the route's path parameters ("/users/{id}").
	Params router.Params

	phase      Phase
	depth      int  // how many steps' request phase ran
	answered   bool // the response is final: skip the rest of the request phase and the upstream
	pathSet    bool // a step set the upstream path: no strip_prefix or rewrite
	target     string
	prefixSegs int // segments of the matched prefix pattern, -1 for non-prefix
	tls        bool
	localPort  int
	remote     netip.Addr
	clientIP   netip.Addr
	trusted    *realip.Trusted
	upstreams  UpstreamLookup
	logger     *slog.Logger
	start      time.Time
	bodySize   int
	requestID  []byte
	values     [maxValues]value
	nvalues    int
	extra      []value
	scratch    []byte
	cacheKey   []byte // parts added by AddCacheKey: uvarint length, bytes

	// Response header changes asked for before the response existed.
	respHeaders []headerOp

	// The client's headers as they reached the chain, when a step asked
	// for them (OriginalHeadersUser).
	orig    fasthttp.RequestHeader
	origSet bool

	// Copies of the headers, for the log phase.
	logReq  fasthttp.Request
	logResp fasthttp.Response
	done    func(*Context)
}

// HeaderOp is a change of a header: set (replacing its values), add (a
// value) or delete.
type HeaderOp uint8

// The header changes.
const (
	HeaderSet HeaderOp = iota
	HeaderAdd
	HeaderDel
)

type headerOp struct {
	op          HeaderOp
	depth       int // the step that asked, 1-based
	name, value []byte
}

var contextPool = sync.Pool{New: func() any { return &Context{prefixSegs: -1} }}

// AcquireContext returns a Context for fc from the pool. The gateway calls
// it once per request; plugins never need to.
func AcquireContext(fc *fasthttp.RequestCtx) *Context {
	c := contextPool.Get().(*Context)
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

// ReleaseContext resets c field by field and returns it to the pool.
func ReleaseContext(c *Context) {
	c.Fast, c.Request, c.Response = nil, nil, nil
	c.Route, c.Upstream, c.Consumer = nil, nil, nil
	c.Params.Reset()
	c.phase, c.depth, c.answered, c.pathSet, c.prefixSegs = PhaseNone, 0, false, false, -1
	c.target = ""
	c.tls, c.localPort, c.remote, c.clientIP = false, 0, netip.Addr{}, netip.Addr{}
	c.trusted, c.upstreams, c.logger = nil, nil, nil
	c.start, c.bodySize = time.Time{}, 0
	c.requestID = c.requestID[:0]
	for i := 0; i < c.nvalues; i++ {
		c.values[i] = value{}
	}
	c.nvalues = 0
	clear(c.extra)
	c.extra = c.extra[:0]
	c.scratch = c.scratch[:0]
	c.cacheKey = c.cacheKey[:0]
	c.respHeaders = c.respHeaders[:0]
	if c.origSet {
		c.orig.Reset()
		c.origSet = false
	}
	c.logReq.Reset()
	c.logResp.Reset()
	c.done = nil
	contextPool.Put(c)
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

// Setup attaches the per-configuration parts to c: the route and its
// matched prefix (segments of a prefix pattern, -1 for other patterns),
// trusted proxies, the upstream lookup and the logger. Called by the
// gateway after routing.
func (c *Context) Setup(r *Route, prefixSegs int, trusted *realip.Trusted, upstreams UpstreamLookup, logger *slog.Logger) {
	c.Route = r
	c.Upstream = r.Upstream
	c.prefixSegs = prefixSegs
	c.trusted = trusted
	c.upstreams = upstreams
	c.logger = logger
}

// Phase returns the phase the context is in.
func (c *Context) Phase() Phase { return c.phase }

// Method returns the request method.
func (c *Context) Method() []byte { return c.Request.Header.Method() }

// Host returns the Host header as the client sent it.
func (c *Context) Host() []byte { return c.Request.Header.Host() }

// Path returns the normalized path (dot segments resolved, duplicate
// slashes merged, percent-encoding decoded): the path routing matched, and
// the one sent upstream unless strip_prefix, rewrite or SetPath change it.
func (c *Context) Path() []byte { return c.Request.URI().Path() }

// SetPath sets the path sent upstream. The route's strip_prefix and
// rewrite no longer apply. p is a decoded path; it is percent-encoded
// where needed when sent.
func (c *Context) SetPath(p []byte) {
	c.setPath(p)
	c.pathSet = true
}

func (c *Context) setPath(p []byte) {
	c.scratch = appendQuotedPath(c.scratch[:0], p)
	c.Request.URI().SetPathBytes(c.scratch)
}

// Scheme returns "https" for requests that came over TLS, else "http".
func (c *Context) Scheme() string {
	if c.tls {
		return "https"
	}
	return "http"
}

// IsTLS reports whether the request came over TLS.
func (c *Context) IsTLS() bool { return c.tls }

// LocalPort returns the port of the gateway's listener the request came
// in on; 0 when unknown (a context built outside a server).
func (c *Context) LocalPort() int { return c.localPort }

// keepOriginalHeaders copies the request headers, as they reached the
// chain, for OriginalHeaders.
func (c *Context) keepOriginalHeaders() {
	c.Request.Header.CopyTo(&c.orig)
	c.origSet = true
}

// OriginalHeaders returns the client's request headers as they reached
// the chain (after the gateway removed hop-by-hop and forged identity
// headers, before any step changed them), or nil when the route's chain
// has no step that asked for them (see OriginalHeadersUser). The headers
// belong to the context: read-only, valid until the request ends.
func (c *Context) OriginalHeaders() *fasthttp.RequestHeader {
	if !c.origSet {
		return nil
	}
	return &c.orig
}

// DeferResponseHeader records a change of a response header that the
// running step asks for before the response exists (in the request
// phase). It is made on the response the request gets, whichever it is:
// the upstream's or an error, when the response phase reaches the step
// (before its OnResponse), so that the steps the step runs around (a
// cache after it) see the response without it, as they would not see
// what its OnResponse sets; or a response a step produced with Respond,
// at once, before that step's own headers (which win). name and value
// are copied.
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

// applyResponseHeaders makes, in order, the changes DeferResponseHeader
// recorded for the steps from depth on (1-based), and forgets them.
// Steps record in chain order, so theirs are the end of the list.
func (c *Context) applyResponseHeaders(depth int) {
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

// ClientIP returns the real client address: the peer, or, when the peer
// is a trusted proxy, the rightmost untrusted X-Forwarded-For address,
// all lines of the header read as one list.
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

// Logger returns the process logger; add the request's ID when logging
// about a request (see LogAttrs).
func (c *Context) Logger() *slog.Logger {
	if c.logger == nil {
		return slog.Default()
	}
	return c.logger
}

// LogAttrs logs msg with the route and request ID attached.
func (c *Context) LogAttrs(level slog.Level, msg string, attrs ...slog.Attr) {
	l := c.Logger()
	if !l.Enabled(context.Background(), level) {
		return
	}
	extra := make([]slog.Attr, 0, len(attrs)+2)
	if c.Route != nil {
		extra = append(extra, slog.String("route", c.Route.Name))
	}
	if len(c.requestID) > 0 {
		extra = append(extra, slog.String("request_id", string(c.requestID)))
	}
	l.LogAttrs(context.Background(), level, msg, append(extra, attrs...)...)
}

// RequestID returns the request's ID, set by the request-id step; nil if
// none.
func (c *Context) RequestID() []byte { return c.requestID }

// SetRequestID sets the request's ID (copied), used in error bodies and logs.
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

// SetValue stores a per-request value under key for later steps (and
// scripts, through gw.ctx). A nil val deletes the key.
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

// AddCacheKey adds part (copied) to the request's cache key: a cache step
// that runs after this step keys the response on it too, so that requests
// a step treats differently (a canary, a tenant, a rewrite) never share a
// cached response. Parts count in the order they were added. Only the
// steps before the cache step can add parts: past it, the cache has
// answered or looked up already, and a response whose key parts changed
// after the lookup is not stored.
func (c *Context) AddCacheKey(part []byte) {
	c.cacheKey = binary.AppendUvarint(c.cacheKey, uint64(len(part)))
	c.cacheKey = append(c.cacheKey, part...)
}

// CacheKey returns the parts added by AddCacheKey, each as a uvarint
// length followed by its bytes, in order; empty when none were added. It
// is valid until the next AddCacheKey.
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

// SetUpstream sends the request to the upstream called name instead of the
// route's. It reports false, changing nothing, if there is no such
// upstream.
func (c *Context) SetUpstream(name string) bool {
	if c.upstreams == nil {
		return false
	}
	u := c.upstreams(name)
	if u == nil {
		return false
	}
	c.Upstream = u
	return true
}

// SetTarget sends this request to one server, given as "http://host:port"
// or "https://host:port", instead of a target picked by the upstream's
// balancer. The upstream's timeouts and limits still apply. The URL must
// have been checked by the caller (config.CheckTargetURL).
func (c *Context) SetTarget(url string) { c.target = url }

// Target returns the target set by SetTarget, or "".
func (c *Context) Target() string { return c.target }

// Respond answers the request with status, content type and body (copied)
// and stops the request phase: the remaining request steps and the
// upstream are skipped. In the response phase it replaces the response.
// Response headers deferred by earlier steps (DeferResponseHeader) are
// applied to it; headers the caller sets afterwards win over them.
func (c *Context) Respond(status int, contentType string, body []byte) {
	c.Response.Reset()
	c.Response.SetStatusCode(status)
	if contentType != "" {
		c.Response.Header.SetContentType(contentType)
	}
	c.Response.SetBody(body)
	c.applyResponseHeaders(0)
	c.answered = true
}

// Stop ends the request phase with the response the step wrote into
// c.Response.
func (c *Context) Stop() { c.answered = true }

// Answered reports whether the response is final: a step answered, or the
// request was refused.
func (c *Context) Answered() bool { return c.answered }

// Error answers the request with the gateway's JSON error format and stops
// the request phase.
func (c *Context) Error(status int, message string) {
	WriteError(c.Response, status, message, c.requestID)
	c.answered = true
}

// RequestBody returns the request body when it was read whole (bodies up
// to [server] buffer_body_size are), and streamed = true, with no body,
// when it streams to the upstream as it arrives. Steps must use it rather
// than c.Request.Body(), which would read a stream into memory (and, past
// max_body_size, put an error text in place of the body).
func (c *Context) RequestBody() (body []byte, streamed bool) {
	if c.Request.IsBodyStream() {
		return nil, true
	}
	return c.Request.Body(), false
}

// BodySize returns the size of the response body written to the client;
// meant for the log phase, where the body itself is gone. For a streamed
// response (c.Response.IsBodyStream()) it is the announced Content-Length,
// negative when the upstream did not announce one.
func (c *Context) BodySize() int {
	if c.phase == PhaseLog {
		return c.bodySize
	}
	return responseBodySize(c.Response)
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

// Scratch returns a reusable buffer owned by the context, emptied, for
// building short-lived values without allocating. It is shared: what was
// built in it is overwritten by the next call, and by SetPath.
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
