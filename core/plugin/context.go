package plugin

import (
	"io"
	"log/slog"
	"net/netip"
	"time"

	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/moongate/moongate/core/realip"
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
func (p Phase) String() string { return reqctx.Phase(p).String() }

// HeaderOp is a change of a header: set (replacing its values), add (a
// value) or delete.
type HeaderOp uint8

// The header changes.
const (
	HeaderSet HeaderOp = iota
	HeaderAdd
	HeaderDel
)

// The phases and header changes are the engine's own values, converted
// as they are: an index out of range stops the build if they drift apart.
var (
	_ = [1]int{}[int(PhaseNone)-int(reqctx.PhaseNone)]
	_ = [1]int{}[int(PhaseRequest)-int(reqctx.PhaseRequest)]
	_ = [1]int{}[int(PhaseResponse)-int(reqctx.PhaseResponse)]
	_ = [1]int{}[int(PhaseLog)-int(reqctx.PhaseLog)]
	_ = [1]int{}[int(HeaderSet)-int(reqctx.HeaderSet)]
	_ = [1]int{}[int(HeaderAdd)-int(reqctx.HeaderAdd)]
	_ = [1]int{}[int(HeaderDel)-int(reqctx.HeaderDel)]
)

// Context is one request on its way through a chain. It wraps fasthttp's
// RequestCtx (headers are read as []byte, without copies) and carries the
// route, the upstream, the consumer, path parameters and per-request
// values shared between steps. Its fields:
//
//	Fast     *fasthttp.RequestCtx  fasthttp's context of the request; nil in
//	                               the log phase and in a detached context
//	Request  *fasthttp.Request     the request as it will be sent upstream:
//	                               steps may change its headers and body
//	                               (the path: SetPath; the body: see
//	                               RequestBody)
//	Response *fasthttp.Response    the response: the upstream's, or one a
//	                               step produced
//	Consumer *consumer.Consumer    the authenticated consumer, nil until an
//	                               auth step sets it (core/consumer)
//	Params   router.Params         the route's path parameters
//	                               ("/users/{id}"): Params.Get("id")
//
// Lifetime: a Context comes from a pool and goes back to it when the
// request ends. Nothing may keep a Context, or a []byte taken from it or
// from its Request and Response, after the step that got it returns;
// copy what must outlive the call. A Context is used by one goroutine at a
// time.
type Context reqctx.Context

// x returns the engine's view of c (see core/internal/reqctx).
func (c *Context) x() *reqctx.Context { return (*reqctx.Context)(c) }

// Phase returns the phase the context is in.
func (c *Context) Phase() Phase { return Phase(c.x().Phase()) }

// Method returns the request method.
func (c *Context) Method() []byte { return c.x().Method() }

// Host returns the Host header as the client sent it.
func (c *Context) Host() []byte { return c.x().Host() }

// Path returns the normalized path (dot segments resolved, duplicate
// slashes merged, percent-encoding decoded): the path routing matched, and
// the one sent upstream unless strip_prefix, rewrite or SetPath change it.
func (c *Context) Path() []byte { return c.x().Path() }

// SetPath sets the path sent upstream. The route's strip_prefix and
// rewrite no longer apply. p is a decoded path; it is percent-encoded
// where needed when sent.
func (c *Context) SetPath(p []byte) { c.x().SetPath(p) }

// Scheme returns "https" for requests that came over TLS, else "http".
func (c *Context) Scheme() string { return c.x().Scheme() }

// IsTLS reports whether the request came over TLS.
func (c *Context) IsTLS() bool { return c.x().IsTLS() }

// LocalPort returns the port of the gateway's listener the request came
// in on; 0 when unknown (a context built outside a server).
func (c *Context) LocalPort() int { return c.x().LocalPort() }

// OriginalHeaders returns the client's request headers as they reached
// the chain (after the gateway removed hop-by-hop and forged identity
// headers, before any step changed them), or nil when the route's chain
// has no step that asked for them (see OriginalHeadersUser). The headers
// belong to the context: read-only, valid until the request ends.
func (c *Context) OriginalHeaders() *fasthttp.RequestHeader { return c.x().OriginalHeaders() }

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
	c.x().DeferResponseHeader(reqctx.HeaderOp(op), name, value)
}

// RemoteAddr returns the address of the peer connected to the gateway.
func (c *Context) RemoteAddr() netip.Addr { return c.x().RemoteAddr() }

// ClientIP returns the real client address: the peer, or, when the peer
// is a trusted proxy, the rightmost untrusted X-Forwarded-For address,
// all lines of the header read as one list.
func (c *Context) ClientIP() netip.Addr { return c.x().ClientIP() }

// Trusted returns the proxies whose forwarding headers are believed.
func (c *Context) Trusted() *realip.Trusted { return c.x().Trusted() }

// Start returns when the request started.
func (c *Context) Start() time.Time { return c.x().Start() }

// Logger returns the logger of the running step: the process logger
// tagged with the route and the step (route=api step=key-auth), made
// once when the chain was built. Outside a step's phase (a context built
// by hand in a test), it is the process logger. Add the request's ID when
// logging about a request (see LogAttrs).
func (c *Context) Logger() *slog.Logger { return c.x().Logger() }

// LogAttrs logs msg with Logger, the route and the request's ID attached.
func (c *Context) LogAttrs(level slog.Level, msg string, attrs ...slog.Attr) {
	c.x().LogAttrs(level, msg, attrs...)
}

// StepTime returns how long the step at index i of the route's chain (0
// for the first, in the order the chain runs) took in phase p of this
// request, as the engine timed it: from the end of the step before it in
// the phase (or the phase's start) to its own end. It is 0 for a phase
// the step has not run (yet), past the chain's 16th step, and on a chain
// that does not time its steps (see StepTimesUser): a log step sees the
// request and response times of the steps that ran them, and the log
// times of the steps before it.
func (c *Context) StepTime(i int, p Phase) time.Duration {
	return c.x().StepTime(i, reqctx.Phase(p))
}

// RequestID returns the request's ID, set by the request-id step; nil if
// none.
func (c *Context) RequestID() []byte { return c.x().RequestID() }

// SetRequestID sets the request's ID (copied), used in error bodies and logs.
func (c *Context) SetRequestID(id []byte) { c.x().SetRequestID(id) }

// Value returns the per-request value stored under key, or nil.
func (c *Context) Value(key string) any { return c.x().Value(key) }

// SetValue stores a per-request value under key for later steps (and
// scripts, through gw.ctx). A nil val deletes the key.
func (c *Context) SetValue(key string, val any) { c.x().SetValue(key, val) }

// VisitValues calls f for every per-request value.
func (c *Context) VisitValues(f func(key string, val any)) { c.x().VisitValues(f) }

// AddCacheKey adds part (copied) to the request's cache key: a cache step
// that runs after this step keys the response on it too, so that requests
// a step treats differently (a canary, a tenant, a rewrite) never share a
// cached response. Parts count in the order they were added. Only the
// steps before the cache step can add parts: past it, the cache has
// answered or looked up already, and a response whose key parts changed
// after the lookup is not stored.
func (c *Context) AddCacheKey(part []byte) { c.x().AddCacheKey(part) }

// CacheKey returns the parts added by AddCacheKey, each as a uvarint
// length followed by its bytes, in order; empty when none were added. It
// is valid until the next AddCacheKey.
func (c *Context) CacheKey() []byte { return c.x().CacheKey() }

// VisitCacheKey calls f with each part added by AddCacheKey, in order.
func (c *Context) VisitCacheKey(f func(part []byte)) { c.x().VisitCacheKey(f) }

// RouteName returns the name of the matched route; "" for a context built
// without one (in tests).
func (c *Context) RouteName() string { return c.x().RouteName() }

// UpstreamName returns the name of the upstream the request goes to: the
// route's, or the one a step chose with SetUpstream; "" when there is
// none.
func (c *Context) UpstreamName() string { return c.x().UpstreamName() }

// Rerouted reports whether a step sent the request elsewhere than its
// route's upstream: to another upstream (SetUpstream) or to one target
// (SetTarget). It is true for a context without a route.
func (c *Context) Rerouted() bool { return c.x().Rerouted() }

// SetUpstream sends the request to the upstream called name instead of the
// route's. It reports false, changing nothing, if there is no such
// upstream.
func (c *Context) SetUpstream(name string) bool { return c.x().SetUpstream(name) }

// SetTarget sends this request to one server, given as "http://host:port"
// or "https://host:port", instead of a target picked by the upstream's
// balancer. The upstream's timeouts and limits still apply. The URL must
// have been checked by the caller (config.CheckTargetURL).
func (c *Context) SetTarget(url string) { c.x().SetTarget(url) }

// Target returns the target set by SetTarget, or "".
func (c *Context) Target() string { return c.x().Target() }

// Respond answers the request with status, content type and body (copied)
// and stops the request phase: the remaining request steps and the
// upstream are skipped. In the response phase it replaces the response.
// Response headers deferred by earlier steps (DeferResponseHeader) are
// applied to it; headers the caller sets afterwards win over them.
func (c *Context) Respond(status int, contentType string, body []byte) {
	c.x().Respond(status, contentType, body)
}

// Stop ends the request phase with the response the step wrote into
// c.Response.
func (c *Context) Stop() { c.x().Stop() }

// Answered reports whether the response is final: a step answered, or the
// request was refused.
func (c *Context) Answered() bool { return c.x().Answered() }

// Error answers the request with the gateway's JSON error format and stops
// the request phase:
//
//	{"error":"access denied","status":403,"request_id":"..."}
func (c *Context) Error(status int, message string) { c.x().Error(status, message) }

// RequestBody returns the request body when it was read whole (bodies up
// to [server] buffer_body_size are), and streamed = true, with no body,
// when it streams to the upstream as it arrives. Steps must use it rather
// than c.Request.Body(), which would read a stream into memory (and, past
// max_body_size, put an error text in place of the body).
func (c *Context) RequestBody() (body []byte, streamed bool) { return c.x().RequestBody() }

// LimitRequestBody lowers the most bytes a streamed request body may have
// (see RequestBody) to n: past n, the upstream call stops and the client
// gets 413. It does nothing for a body read whole, whose size the step
// checks itself, nor when n is above the current limit ([server]
// max_body_size, or a lower limit set before).
func (c *Context) LimitRequestBody(n int64) { c.x().LimitRequestBody(n) }

// TakeResponseStream takes over the streamed response body, for a step
// that replaces it with a stream of its own reading from it (compressing
// it as it comes, say): c.Response no longer closes it, and the step must
// set its new stream (c.Response.SetBodyStream) and close the taken body
// when its own stream is closed, which gives the upstream connection back.
// It returns nil, changing nothing, when the response is not streamed or
// its stream cannot be taken (it must implement Take() io.ReadCloser, as
// the upstream's streamed bodies do); a body can be taken once.
func (c *Context) TakeResponseStream() io.ReadCloser { return c.x().TakeResponseStream() }

// BodySize returns the size of the response body written to the client;
// meant for the log phase, where the body itself is gone. For a streamed
// response (c.Response.IsBodyStream()) it is the announced Content-Length,
// negative when the upstream did not announce one.
func (c *Context) BodySize() int { return c.x().BodySize() }

// Scratch returns a reusable buffer owned by the context, emptied, for
// building short-lived values without allocating. It is shared: what was
// built in it is overwritten by the next call, and by SetPath.
func (c *Context) Scratch() []byte { return c.x().Scratch() }

// KeepScratch stores b (from Scratch, grown by append) so its capacity is
// reused.
func (c *Context) KeepScratch(b []byte) { c.x().KeepScratch(b) }

// Detach returns a new Context for a request that a step sends on its own,
// outside the client's flow, such as the background refresh of a cached
// response: it has c's route, upstream, target, matched prefix, path
// parameters (copied), client address, TLS flag, trusted proxies,
// upstream lookup, logger (the step's), consumer, request ID and cache
// key parts (copied), and req and resp as its request and response. It
// has no fasthttp context (Fast is nil) and runs no steps: send it with
// Forward.
//
// The detached Context does not depend on c and may outlive its request;
// req and resp belong to the caller, who releases the Context with
// Release when done.
func (c *Context) Detach(req *fasthttp.Request, resp *fasthttp.Response) *Context {
	return (*Context)(c.x().Detach(req, resp))
}

// Forward sends the request of a Context made by Detach to its upstream,
// the way the route does once its request phase is over (strip_prefix and
// rewrite applied, unless a step set the path), and fills its Response; a
// failure becomes the gateway's error response (502, 503, 504). It panics
// for a Context that Detach did not make.
func (c *Context) Forward() { c.x().Forward() }

// Release returns a Context made by Detach to the pool; c must not be
// used afterwards. It panics for a Context that Detach did not make: the
// request's own belongs to the gateway.
func (c *Context) Release() { reqctx.ReleaseDetached(c.x()) }
