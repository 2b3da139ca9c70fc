package reqctx

import (
	"bytes"
	"time"

	"github.com/valyala/fasthttp"
)

// Detach returns a new Context for a request that a step sends on its own,
// outside the client's flow (see plugin.Context.Detach). It has c's route,
// upstream, target, matched prefix, path parameters (copied), client
// address, TLS flag, trusted proxies, upstream lookup, loggers (the
// step's, when a step detaches it), consumer, request ID, trace and cache
// key parts (copied), and req and resp as its request and response; no
// fasthttp context. Send it with Forward, release it with Release.
func (c *Context) Detach(req *fasthttp.Request, resp *fasthttp.Response) *Context {
	d := pool.Get().(*Context)
	d.detached = true
	d.Request, d.Response = req, resp
	d.route, d.upstream, d.Consumer = c.route, c.upstream, c.Consumer
	for i := 0; i < c.Params.Len(); i++ {
		name, v := c.Params.At(i)
		d.Params.Set(name, v)
	}
	d.detachParams()
	d.pathSet, d.target, d.prefixSegs = c.pathSet, c.target, c.prefixSegs
	d.tls, d.remote, d.clientIP = c.tls, c.remote, c.clientIP
	d.trusted, d.upstreams, d.logger, d.stepLogger = c.trusted, c.upstreams, c.logger, c.stepLogger
	d.requestID = append(d.requestID[:0], c.requestID...)
	d.cacheKey = append(d.cacheKey[:0], c.cacheKey...)
	d.tr = c.tr
	d.start = time.Now()
	return d
}

// Detached reports whether c was made by Detach.
func (c *Context) Detached() bool { return c.detached }

// Forward sends a detached context's request to its upstream the way its
// route does once the request phase is over (strip_prefix and rewrite
// applied, unless a step set the path), and fills its response; a failure
// becomes the gateway's error response (502, 503, 504). It panics when c
// was not made by Detach, or has no route.
func (c *Context) Forward() {
	if !c.detached {
		panic("plugin: Forward of a context that Detach did not make")
	}
	if c.route == nil || c.route.Engine == nil {
		panic("plugin: Forward of a detached context without a route")
	}
	c.route.Engine.Forward(c)
}

// ReleaseDetached returns a context made by Detach to the pool. It panics
// for any other context: the request's own belongs to the gateway.
func ReleaseDetached(c *Context) {
	if !c.detached {
		panic("plugin: Release of a context that Detach did not make")
	}
	Release(c)
}

// PrepareLog readies c for the log phase, which runs after the handler
// returns, when fasthttp reuses its request context: it copies what the
// log phase may read (request and response headers, the routed path when
// KeepRoutedPath kept it, and the query as it went upstream, path parameters, the request body's
// size, the response body's size as announced until WriteEnded tells
// what was sent) into c's own memory and points Request and Response at
// the copies. done is what Done calls.
func (c *Context) PrepareLog(done func(*Context)) {
	query := upstreamQuery(c.Request)
	c.Request.Header.CopyTo(&c.logReq.Header)
	c.Response.Header.CopyTo(&c.logResp.Header)
	c.setRoutedURI(c.logReq.URI(), query)
	c.detachParams()
	c.leaveRequest(done)
}

// leaveRequest keeps the request body's size and the response body's
// size as announced (until WriteEnded tells what was sent), points
// Request and Response at the log phase's own (fasthttp reuses its
// request context once the response is written) and sets what Done
// calls.
func (c *Context) leaveRequest(done func(*Context)) {
	c.bodySize = responseBodySize(c.Response)
	c.reqBody = requestBodySize(c.Request)
	c.Fast, c.Request, c.Response = nil, &c.logReq, &c.logResp
	c.logUsed = true
	c.done = done
}

// MaxCaptured is how many log steps of a chain may capture their log
// before the write (plugin.LogCapturer); a chain with more runs its log
// phase on the log workers.
const MaxCaptured = 4

// Captured is what the log step at Step of the chain captured of the
// request (a plugin.CapturedLog), and how long the capture took (0 on an
// untimed chain).
type Captured struct {
	Step int
	Log  any
	Took time.Duration
}

// AddCaptured keeps what a log step captured; it panics past MaxCaptured
// (a chain with more does not capture).
func (c *Context) AddCaptured(x Captured) {
	c.captured[c.ncaptured] = x
	c.ncaptured++
}

// CapturedLogs returns what the log steps captured, in chain order.
func (c *Context) CapturedLogs() []Captured { return c.captured[:c.ncaptured] }

// PrepareCaptured is PrepareLog for a request whose log steps captured
// what they log (AddCaptured): nothing is copied, Request and Response
// are left empty, and the path parameters, which point into fasthttp's
// request, are dropped.
func (c *Context) PrepareCaptured(done func(*Context)) {
	c.Params.Reset()
	c.leaveRequest(done)
}

// upstreamQuery returns the query of r as it goes upstream: after a step
// changed its arguments (QueryArgs), QueryString is stale and RequestURI
// is not. It points into r's URI.
func upstreamQuery(r *fasthttp.Request) []byte {
	query := r.URI().RequestURI()
	if i := bytes.IndexByte(query, '?'); i >= 0 {
		return query[i+1:]
	}
	return nil
}

// setRoutedURI sets uri's path to the routed path (when KeepRoutedPath
// kept it) and its query to query, as it went upstream (the credentials
// an auth step took out of it are gone): what the log phase reports.
func (c *Context) setRoutedURI(uri *fasthttp.URI, query []byte) {
	if c.routedSet {
		uri.SetPathBytes(c.routedPath)
		uri.SetQueryStringBytes(query)
	}
}

// RestoreRoutedURI readies c's request for the log steps' captures
// (plugin.LogCapturer), as PrepareLog readies its copy: its URI shows the
// routed path and the query as it went upstream. The request has been
// sent; fasthttp writes the response without reading its URI.
func (c *Context) RestoreRoutedURI() {
	c.setRoutedURI(c.Request.URI(), upstreamQuery(c.Request))
}

// HoldLog makes the log phase of c wait until ReleaseLog; see
// plugin.Context.HoldLog. It reports false, holding nothing, when c's
// route has no log phase or c is detached.
func (c *Context) HoldLog() bool {
	if c.route == nil || !c.route.HasLog || c.detached || c.logFinished.Load() {
		return false
	}
	c.logHolds.Add(1)
	return true
}

// ReleaseLog ends a hold of HoldLog; the last one queues the log phase if
// the engine is done with the request.
func (c *Context) ReleaseLog() {
	if c.logHolds.Add(-1) == 0 && c.logFinished.Load() {
		c.queueLog()
	}
}

// FinishLog is called by the engine once it is done with the request
// (after PrepareLog): queue puts c on the log queue, now if no step holds
// the log phase, otherwise when the last hold ends.
func (c *Context) FinishLog(queue func(*Context)) {
	c.logQueue = queue
	c.logFinished.Store(true)
	if c.logHolds.Load() == 0 {
		c.queueLog()
	}
}

func (c *Context) queueLog() {
	if c.logQueued.CompareAndSwap(false, true) {
		c.logQueue(c)
	}
}

// Done calls the function given to PrepareLog: the log phase is over (or
// was dropped), and it must release c.
func (c *Context) Done() { c.done(c) }

// detachParams copies the path parameter values, which point into the
// fasthttp request, into the context's own memory.
func (c *Context) detachParams() {
	n := c.Params.Len()
	if n == 0 {
		return
	}
	size := 0
	for i := 0; i < n; i++ {
		_, v := c.Params.At(i)
		size += len(v)
	}
	buf := make([]byte, 0, size)
	var ps [16]struct {
		name string
		v    []byte
	}
	for i := 0; i < n && i < len(ps); i++ {
		name, v := c.Params.At(i)
		start := len(buf)
		buf = append(buf, v...)
		ps[i].name, ps[i].v = name, buf[start:len(buf):len(buf)]
	}
	c.Params.Reset()
	for i := 0; i < n && i < len(ps); i++ {
		c.Params.Set(ps[i].name, ps[i].v)
	}
}
