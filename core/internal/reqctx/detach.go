package reqctx

import (
	"time"

	"github.com/valyala/fasthttp"
)

// Detach returns a new Context for a request that a step sends on its own,
// outside the client's flow (see plugin.Context.Detach). It has c's route,
// upstream, target, matched prefix, path parameters (copied), client
// address, TLS flag, trusted proxies, upstream lookup, loggers (the
// step's, when a step detaches it), consumer, request ID and cache key
// parts (copied), and req and resp as its request and response; no
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
// log phase may read (request and response headers, path parameters, the
// body size) into c's own memory and points Request and Response at the
// copies. done is what Done calls.
func (c *Context) PrepareLog(done func(*Context)) {
	c.bodySize = responseBodySize(c.Response)
	c.Request.Header.CopyTo(&c.logReq.Header)
	c.Response.Header.CopyTo(&c.logResp.Header)
	c.detachParams()
	c.Fast, c.Request, c.Response = nil, &c.logReq, &c.logResp
	c.done = done
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
