package cache

import (
	"time"

	"github.com/moongate/moongate/core/httpbytes"
	"github.com/moongate/moongate/core/plugin"
	"github.com/valyala/fasthttp"
)

// prepareFetch readies the request for the upstream: the client's own
// validators and range are kept aside (the cache answers them itself, so
// that the upstream returns a full, storable response), a HEAD becomes a
// GET to fill the cache, and a stale entry's validators are sent to
// revalidate it.
func (p *Plugin) prepareFetch(c *plugin.Context, st *state, now int64) {
	st.mode = modeFetch
	st.stamp = now
	h := &c.Request.Header
	st.inm = append(st.inm[:0], st.reqINM...)
	st.ims = append(st.ims[:0], st.reqIMS...)
	st.rng = append(st.rng[:0], st.reqRange...)
	st.ifRange = append(st.ifRange[:0], st.reqIfRange...)
	// The request's headers change below: from now on the copies count.
	st.reqINM, st.reqIMS, st.reqRange, st.reqIfRange = st.inm, st.ims, st.rng, st.ifRange
	var e *entry
	if st.found {
		e = &st.entry
	}
	st.head, st.revalidating = setFetchHeaders(h, e)
}

// setFetchHeaders makes h a request the upstream answers with a full,
// storable response: the client's validators go, a HEAD becomes a GET,
// and the validators of e, the entry in hand (nil if none), are sent to
// revalidate it. It reports whether the request was a HEAD and whether
// validators were sent.
func setFetchHeaders(h *fasthttp.RequestHeader, e *entry) (head, revalidating bool) {
	h.Del("If-None-Match")
	h.Del("If-Modified-Since")
	// The whole response is asked for, as nginx's proxy_cache does: it
	// is stored, and the client's range is cut from it.
	h.Del("Range")
	h.Del("If-Range")
	if h.IsHead() {
		h.SetMethod("GET")
		head = true
	}
	if e == nil {
		return head, false
	}
	if etag := e.header("ETag"); len(etag) > 0 {
		h.SetBytesV("If-None-Match", etag)
		revalidating = true
	}
	if lm := e.header("Last-Modified"); len(lm) > 0 {
		h.SetBytesV("If-Modified-Since", lm)
		revalidating = true
	}
	return head, revalidating
}

// finish handles the upstream's answer to a fetch: refresh the entry on
// 304, serve it stale on an error, or store the new response. serve is
// false for background refreshes, whose response nobody reads.
func (p *Plugin) finish(c *plugin.Context, st *state, serve bool) {
	defer p.flights.finish(st.digest, st.flight)
	st.flight = nil
	if serve && st.head {
		c.Request.Header.SetMethod("HEAD")
	}
	resp := c.Response
	status := resp.StatusCode()
	now := time.Now().UnixNano()
	switch {
	case status == 304 && st.revalidating && st.found:
		// Update the stored headers with the 304's (RFC 9111 §4.3.4) and
		// store the result as a new response.
		var upd fasthttp.ResponseHeader
		resp.Header.CopyTo(&upd)
		st.validated = true
		st.date304 = append(st.date304[:0], upd.Peek("Date")...)
		p.writeEntry(st, resp, &st.entry)
		resp.SetBody(st.entry.body)
		for k := range upd.All() {
			if skipOn304(k) {
				continue
			}
			resp.Header.DelBytes(k)
		}
		for k, v := range upd.All() {
			if !skipOn304(k) {
				resp.Header.AddBytesKV(k, v)
			}
		}
		rec, ok := p.store(c, st, now)
		p.n.revalidated.Add(1)
		if serve {
			p.m.revalidated.Inc(c)
			if e, parsed := parseEntry(rec); ok && parsed {
				p.serve(c, st, &e, &st.rec, now, statusRevalidated)
			} else {
				p.stripOwn(resp)
				resp.Header.SetBytesKV(hdrStatus, statusRevalidated)
				answerClient(resp, st, resp.Body(), nil)
			}
		}
		return
	case st.found && serverError(status) && p.staleIfError(&st.entry, now):
		if serve {
			p.serve(c, st, &st.entry, &st.val, now, statusStale)
			p.n.stale.Add(1)
			p.m.stale.Inc(c)
		}
		return
	}
	if _, stored := p.store(c, st, now); !stored && status == 200 && resp.IsBodyStream() && len(st.rng) > 0 {
		p.markTooBig(st)
	}
	if !serve {
		return
	}
	label := statusMiss
	switch {
	case resp.IsBodyStream():
		label = statusBypass
		p.n.bypass.Add(1)
		p.m.bypass.Inc(c)
	case st.found:
		label = statusExpired
		p.n.expired.Add(1)
		p.m.expired.Inc(c)
	default:
		p.n.miss.Add(1)
		p.m.miss.Inc(c)
	}
	p.stripOwn(resp)
	resp.Header.SetBytesKV(hdrStatus, label)
	if status == 200 && !resp.IsBodyStream() {
		answerClient(resp, st, resp.Body(), nil)
	} else if status == 200 {
		answerConditional(resp, st.reqINM, st.reqIMS)
	}
}

// tooBigMemory is how long the cache remembers that a response was too
// large (or too long to announce its length) to be stored.
const tooBigMemory = 10 * time.Minute

// markTooBig records, after a Range request's whole response turned out
// to stream past what the cache can hold, that further Range requests
// for it go to the upstream (see range.go) instead of fetching the whole
// response each time.
func (p *Plugin) markTooBig(st *state) {
	gen := p.ns.KeyGeneration(st.path)
	if gen == 0 {
		gen = p.ns.RenewKeyGeneration(st.path)
	}
	key := baseKey(st.digest, gen)
	p.ns.Set(key[:], []byte{kindTooBig}, tooBigMemory)
}

func serverError(s int) bool { return s == 500 || s == 502 || s == 503 || s == 504 }

// staleIfError reports whether e may be served in place of an error:
// never when it must be revalidated before use (no-cache: RFC 9111
// §5.2.2.4) or once stale (must-revalidate, proxy-revalidate, s-maxage:
// §5.2.2.2, §4.2.4), whatever stale-if-error says; the client gets the
// error.
func (p *Plugin) staleIfError(e *entry, now int64) bool {
	if e.flags&(flagNoStale|flagNoCache) != 0 {
		return false
	}
	return e.age(now)-e.lifetime < e.sie
}

// skipOn304 lists the headers of a 304 that do not update a stored response.
func skipOn304(k []byte) bool {
	// Date counts (st.date304), but is set apart: writeEntry wrote the
	// stored one, which fasthttp would not let the 304's replace.
	return httpbytes.EqualFold(k, "Content-Length") || httpbytes.EqualFold(k, "Content-Type") || httpbytes.EqualFold(k, "Content-Encoding") ||
		httpbytes.EqualFold(k, "X-Cache-Status") || httpbytes.EqualFold(k, "Transfer-Encoding") || httpbytes.EqualFold(k, "Connection") ||
		httpbytes.EqualFold(k, "Date")
}
