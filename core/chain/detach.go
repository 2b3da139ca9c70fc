package chain

import (
	"time"

	"github.com/valyala/fasthttp"
)

// Detach returns a new Context for a request that a step sends on its own,
// outside the client's flow, such as the background refresh of a cached
// response: it has c's route, upstream, target, matched prefix, path
// parameters (copied), client address, TLS flag, trusted proxies,
// upstream lookup, logger, consumer, request ID and cache key parts
// (copied), and req and resp as
// its request and response. It has no fasthttp context (Fast is nil) and
// runs no steps: send it with Route.Forward.
//
// The detached Context does not depend on c and may outlive its request;
// req and resp belong to the caller, who releases the Context with
// ReleaseContext when done.
func (c *Context) Detach(req *fasthttp.Request, resp *fasthttp.Response) *Context {
	d := contextPool.Get().(*Context)
	d.Request, d.Response = req, resp
	d.Route, d.Upstream, d.Consumer = c.Route, c.Upstream, c.Consumer
	for i := 0; i < c.Params.Len(); i++ {
		name, v := c.Params.At(i)
		d.Params.Set(name, v)
	}
	d.detachParams()
	d.pathSet, d.target, d.prefixSegs = c.pathSet, c.target, c.prefixSegs
	d.tls, d.remote, d.clientIP = c.tls, c.remote, c.clientIP
	d.trusted, d.upstreams, d.logger = c.trusted, c.upstreams, c.logger
	d.requestID = append(d.requestID[:0], c.requestID...)
	d.cacheKey = append(d.cacheKey[:0], c.cacheKey...)
	d.start = time.Now()
	return d
}

// Forward sends c.Request to c.Upstream the way the route does once its
// request phase is over (strip_prefix and rewrite applied, unless a step
// set the path) and fills c.Response; a failure becomes the gateway's
// error response (502, 503, 504). Steps use it for detached requests.
func (r *Route) Forward(c *Context) { r.forward(c) }
