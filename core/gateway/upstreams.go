package gateway

import (
	"sort"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/moongate/moongate/core/upstream"
	"github.com/valyala/fasthttp"
)

// prepareBody readies the request body before routing: the server reads
// bodies as streams (StreamRequestBody), so that large ones can go to the
// upstream as they arrive; bodies up to server.buffer_body_size are read
// whole here, so every step sees them in c.Request.Body(). A body
// announced over server.max_body_size gets 413 (a chunked one that grows
// past it fails its request with 413 while streaming; its framing counts,
// see chunkedBody). It reports whether the request may go on.
func prepareBody(fc *fasthttp.RequestCtx, rt *Runtime) bool {
	if !fc.Request.IsBodyStream() {
		return true
	}
	s := &rt.Config.Server
	var body *chunkedBody
	if c := connOf(fc.Conn()); c != nil && fc.Request.Header.ContentLength() == -1 {
		body = &c.body
		body.start(c, fc.Request.BodyStream(), s.MaxBodySize.Int())
		fc.Request.SetBodyStream(body, -1)
	}
	status := upstream.PrepareRequestBody(&fc.Request, s.MaxBodySize.Int(), s.BufferBodySize.Int())
	if status == 400 && body != nil {
		status = body.status()
	}
	switch status {
	case 0:
		return true
	case 413:
		reqctx.WriteError(&fc.Response, 413, "request body too large", nil)
	default:
		reqctx.WriteError(&fc.Response, 400, "malformed request body", nil)
	}
	fc.SetConnectionClose()
	return false
}

// proxyOptions are a route's overrides of its upstream call.
func proxyOptions(rc *config.Route) reqctx.ProxyOptions {
	p := reqctx.ProxyOptions{
		Timeout:            rc.Timeout.Std(),
		ConnectTimeout:     rc.ConnectTimeout.Std(),
		Deadline:           rc.Deadline.Std(),
		RetryNonIdempotent: rc.RetryNonIdempotent,
		WebSocket:          rc.WebSocket,
		PreserveHost:       rc.PreserveHost,
	}
	if rc.Retries != nil {
		p.Retries = *rc.Retries
		if p.Retries == 0 {
			p.Retries = -1
		}
	}
	return p
}

// UpstreamStates returns the state of every upstream's targets, sorted by
// upstream name: what GET /upstreams on the admin API answers.
func (rt *Runtime) UpstreamStates() []upstream.State {
	out := make([]upstream.State, 0, len(rt.upstreams))
	for _, u := range rt.upstreams {
		out = append(out, u.State())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
