package cache

import (
	"time"

	"github.com/moongate/moongate/core/httpbytes"
	"github.com/moongate/moongate/core/plugin"
)

// The X-Cache-Status values.
var (
	hdrStatus         = []byte("X-Cache-Status")
	statusHit         = []byte("HIT")
	statusMiss        = []byte("MISS")
	statusExpired     = []byte("EXPIRED")
	statusStale       = []byte("STALE")
	statusBypass      = []byte("BYPASS")
	statusRevalidated = []byte("REVALIDATED")
	hdrAge            = []byte("Age")
)

const stateKey = "moongate.cache.state"

// What the request phase decided, for the response phase.
const (
	modeBypass     = iota + 1 // not cached: mark the response BYPASS
	modeFetch                 // going upstream for a cacheable request: store, revalidate, or serve stale on error
	modeInvalidate            // unsafe method: invalidate on success
)

// bypassState marks bypassed requests without taking a state from the pool.
var bypassState = &state{mode: modeBypass}

// OnRequest looks the request up and answers it from the cache when it can.
func (p *Plugin) OnRequest(c *plugin.Context) error {
	method := c.Method()
	cacheable := p.cacheableMethod(method)
	if !cacheable {
		switch {
		case p.purgeOn && string(method) == "PURGE":
			return p.purgeRequest(c)
		case p.invalidate && unsafeMethod(method):
			st := acquireState()
			st.mode = modeInvalidate
			st.path = append(st.path[:0], c.Path()...)
			st.host = append(st.host[:0], c.Host()...)
			c.SetValue(stateKey, st)
		default:
			c.SetValue(stateKey, bypassState)
		}
		return nil
	}
	st := acquireState()
	if !p.scanRequest(c, st) || !p.digest(c, st) {
		releaseState(st)
		c.SetValue(stateKey, bypassState)
		return nil
	}
	// The request's start is recent enough for ages, and spares a clock read.
	now := c.Start().UnixNano()
	if p.lookup(c, st) && p.tryServe(c, st, now) {
		releaseState(st)
		return nil
	}
	if st.tooBig && len(st.reqRange) > 0 {
		// Too large to store, as a fetch found lately: the range is the
		// upstream's to answer, rather than sending the whole response.
		releaseState(st)
		c.SetValue(stateKey, bypassState)
		return nil
	}
	if p.collapse {
		f, leader := p.flights.join(st.digest, now, p.collapseTimeout)
		if leader {
			st.flight = f
		} else if f.wait(p.collapseTimeout) {
			// The leader is done: its response is in the cache, unless it
			// could not be stored.
			now = time.Now().UnixNano()
			if p.lookup(c, st) && p.tryServe(c, st, now) {
				p.n.collapsed.Add(1)
				releaseState(st)
				return nil
			}
		}
	}
	if st.req.onlyIfCached {
		p.flights.finish(st.digest, st.flight)
		releaseState(st)
		c.Error(504, "not in cache (only-if-cached)")
		return nil
	}
	p.prepareFetch(c, st, now)
	c.SetValue(stateKey, st)
	return nil
}

// OnResponse stores what can be stored and marks the response.
func (p *Plugin) OnResponse(c *plugin.Context) error {
	v, _ := c.Value(stateKey).(*state)
	if v == nil {
		return nil
	}
	c.SetValue(stateKey, nil)
	switch v.mode {
	case modeBypass:
		p.n.bypass.Add(1)
		p.stripOwn(c.Response)
		c.Response.Header.SetBytesKV(hdrStatus, statusBypass)
		return nil
	case modeInvalidate:
		p.invalidateAfter(c, v)
		p.stripOwn(c.Response)
		releaseState(v)
		return nil
	}
	p.finish(c, v, true)
	releaseState(v)
	return nil
}

// unsafeMethod reports whether a method may change the resource (RFC 9110
// §9.2.1: everything but GET, HEAD, OPTIONS and TRACE).
func unsafeMethod(m []byte) bool {
	switch string(m) {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		return false
	}
	return true
}

// scanRequest reads, in one pass over the request headers, what the cache
// needs from them; it reports false when the request must bypass the
// cache (Cache-Control: no-store).
func (p *Plugin) scanRequest(c *plugin.Context, st *state) bool {
	hasCC := false
	var pragma []byte
	for k, v := range c.Request.Header.All() {
		switch len(k) {
		case 5:
			if httpbytes.EqualFold(k, "Range") {
				if st.reqRange != nil {
					v = severalRanges // Range is a singleton: answered whole
				}
				st.reqRange = v
			}
		case 8:
			if httpbytes.EqualFold(k, "If-Range") {
				st.reqIfRange = v
			}
		case 6:
			if httpbytes.EqualFold(k, "Pragma") {
				pragma = v
			}
		case 13:
			if httpbytes.EqualFold(k, "Authorization") {
				st.hadAuth = true
			} else if httpbytes.EqualFold(k, "Cache-Control") && p.requestDirectives {
				st.req.parse(v)
				hasCC = true
			} else if httpbytes.EqualFold(k, "If-None-Match") {
				st.reqINM = v
			}
		case 17:
			if httpbytes.EqualFold(k, "If-Modified-Since") {
				st.reqIMS = v
			}
		}
	}
	if p.requestDirectives && !hasCC && len(pragma) > 0 && containsToken(pragma, "no-cache") {
		st.req.noCache = true
	}
	// Range is defined for GET only (RFC 9110 §14.2).
	if string(c.Method()) != "GET" {
		st.reqRange = nil
	}
	return !st.req.noStore
}
