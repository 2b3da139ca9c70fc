package cache

import (
	"bytes"
	"encoding/binary"
	"io"
	"log/slog"
	"time"

	"github.com/moongate/moongate/core/httpbytes"
	"github.com/moongate/moongate/core/plugin"
	"github.com/valyala/fasthttp"
)

// Limits on what a stored response may carry.
const (
	maxTags    = 64
	maxTagLen  = 256
	maxVary    = 16
	maxHeaders = 256
)

// store stores c.Response under the request's key when the policy and the
// response allow it, and returns the record it stored. now is when the
// response was received; st.stamp when it was requested.
func (p *Plugin) store(c *plugin.Context, st *state, now int64) ([]byte, bool) {
	resp := c.Response
	status := resp.StatusCode()
	// A final status (RFC 9111 §3), but not a 206 (part of a response,
	// not stored as a whole) nor a 304 (a 304 that revalidates an entry
	// arrives here as the entry's status).
	if status < 200 || status >= len(p.statuses) || status == 206 || status == 304 {
		return nil, false
	}
	for range resp.Header.Cookies() {
		return nil, false // Set-Cookie: never shared
	}
	rd, targeted := p.responseDirectives(&resp.Header)
	if !p.force && (rd.noStore || rd.private) {
		return nil, false
	}
	// A step after the cache step changed who is asking (an auth step put
	// after it), where the request goes or what its key is made of: the
	// key does not say what the response is for.
	if c.Consumer != st.consumer || c.UpstreamName() != st.upstream || c.Target() != st.target ||
		len(c.CacheKey()) != st.keyParts {
		p.warnKeyChanged(c)
		return nil, false
	}
	// RFC 9111 §3.5: a response to a request with credentials is shared
	// (with other requests with credentials: see appendIdentity) only
	// when the response says so, or when the entry is the consumer's own
	// (key_consumer, and an auth step found who it is).
	if st.hadAuth && !st.perConsumer && !(rd.public || rd.sMaxAge >= 0 || rd.mustRevalidate) {
		return nil, false
	}
	var names [maxVary][]byte
	nv := 0
	for _, v := range resp.Header.PeekAll("Vary") {
		for len(v) > 0 {
			var n []byte
			n, v = httpbytes.NextElement(v)
			if len(n) == 1 && n[0] == '*' {
				return nil, false // varies on everything: not reusable
			}
			if len(n) > 0 {
				if nv == maxVary {
					return nil, false
				}
				names[nv] = n
				nv++
			}
		}
	}
	if len(p.contentTypes) > 0 && !p.allowedType(resp.Header.ContentType()) {
		return nil, false
	}
	if resp.IsBodyStream() && !p.bufferStream(c) {
		return nil, false
	}
	body := resp.Body()
	if len(body) > p.maxSize {
		return nil, false
	}

	e := entry{status: status, stamp: st.stamp, respTime: now}
	dateV := resp.Header.Peek("Date")
	if st.validated {
		// The 304 that revalidated the entry dates it (none: now).
		dateV = st.date304
	}
	date, hasDate := parseDate(dateV)
	if !hasDate {
		date = now
	}
	etag, lastMod := resp.Header.Peek("ETag"), resp.Header.Peek("Last-Modified")
	hasValidator := len(etag) > 0 || len(lastMod) > 0
	// explicit: the response says how long it is fresh. Then any final
	// status may be stored (RFC 9111 §3); statuses only limit what the
	// cache decides itself (ttl, force, heuristic freshness).
	explicit := false
	if p.force {
		e.lifetime = p.ttl
	} else {
		// RFC 9111 §4.2.3: corrected initial age.
		// Date has a resolution of one second and servers refresh it
		// once a second: a Date up to a second old counts as current, or
		// a response with max-age=1 would be born stale.
		apparent := max(0, now-date-int64(time.Second)) / int64(time.Second) * int64(time.Second)
		corrected := ageValue(&resp.Header) + max(0, now-st.stamp)
		e.initAge = max(apparent, corrected)
		explicit = true
		switch {
		case rd.sMaxAge >= 0:
			e.lifetime = rd.sMaxAge
		case rd.maxAge >= 0:
			e.lifetime = rd.maxAge
		case !targeted && len(resp.Header.Peek("Expires")) > 0:
			// An invalid Expires, or several, means already expired
			// (RFC 9111 §5.3, §4.2.1).
			if exp, ok := parseDate(resp.Header.Peek("Expires")); ok && len(resp.Header.PeekAll("Expires")) == 1 {
				e.lifetime = max(0, exp-date)
			}
		default:
			explicit = false
			if p.ttl > 0 {
				e.lifetime = p.ttl
			} else if lm, ok := parseDate(lastMod); ok && p.heuristic && (heuristicStatus(status) || rd.public) && lm < date {
				e.lifetime = min((date-lm)/10, p.heuristicMax)
				e.flags |= flagHeuristc
			}
		}
		if rd.noCache {
			e.flags |= flagNoCache
		}
		// must-revalidate and proxy-revalidate forbid serving stale; so
		// does s-maxage (§5.2.2.10), unless the response itself allows
		// stale use with stale-while-revalidate or stale-if-error.
		if rd.mustRevalidate || rd.proxyRevalidate || (rd.sMaxAge >= 0 && rd.swr < 0 && rd.sie < 0) {
			e.flags |= flagNoStale
		}
	}
	if !explicit && !p.statuses[status] {
		return nil, false
	}
	e.swr, e.sie = p.swr, p.sie
	if !p.force {
		if rd.swr >= 0 {
			e.swr = rd.swr
		}
		if rd.sie >= 0 {
			e.sie = rd.sie
		}
	}
	if e.flags&flagNoStale != 0 {
		e.swr, e.sie = 0, 0
	}
	remaining := e.lifetime - e.initAge
	if remaining <= 0 && e.flags&flagNoCache == 0 && !(explicit && hasValidator) {
		return nil, false // nothing to reuse, nothing to revalidate
	}
	if e.flags&flagNoCache != 0 && !hasValidator && remaining <= 0 {
		return nil, false
	}
	keep := max(e.swr, e.sie)
	if hasValidator {
		keep = max(keep, p.keepStale)
	}
	ttl := max(remaining, 0) + keep
	if ttl <= 0 {
		return nil, false
	}

	// Build the record: fixed part, headers, tags, body.
	rec := st.rec[:0]
	rec = append(rec, make([]byte, fixedLen)...)
	// Date comes first: the origin's (or the 304's), or when it sent
	// none (or an invalid one), when the response was received (RFC 9110
	// §6.6.1). writeEntry relies on it being first.
	rec = appendStr(rec, "Date")
	if hasDate {
		rec = appendString(rec, httpbytes.TrimOWS(dateV))
	} else {
		var buf [32]byte
		rec = appendString(rec, fasthttp.AppendHTTPDate(buf[:0], time.Unix(0, now)))
	}
	nh := 1
	for k, v := range resp.Header.All() {
		if skipStored(k) || (p.tagHeader != "" && !p.exposeTags && httpbytes.EqualFold(k, p.tagHeader)) || p.ownTargeted(k) {
			continue
		}
		if nh == maxHeaders {
			return nil, false
		}
		if repeated(rec[fixedLen:], nh, k) {
			rec = binary.AppendUvarint(rec, uint64(len(k)+1))
			rec = append(append(rec, repeatMark), k...)
		} else {
			rec = appendString(rec, k)
		}
		rec = appendString(rec, v)
		nh++
	}
	hdrEnd := len(rec)
	nt := 0
	if p.tagHeader != "" {
		for _, v := range resp.Header.PeekAll(p.tagHeader) {
			for _, t := range bytes.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
				if len(t) > maxTagLen || nt == maxTags {
					continue
				}
				rec = appendString(rec, t)
				nt++
			}
		}
	}
	rec = append(rec, body...)
	e.nh, e.nt, e.body, e.headers = nh, nt, body, rec[fixedLen:hdrEnd]
	fixed := appendFixed(make([]byte, 0, fixedLen), &e)
	copy(rec, fixed)
	st.rec = rec

	// The path's generation: the one seen at lookup, unless a purge
	// renewed it since (then this response may predate the purge: drop
	// it). A path never seen gets its first generation here.
	gen := p.ns.KeyGeneration(st.path)
	switch {
	case st.gen == 0 && gen == 0:
		gen = p.ns.RenewKeyGeneration(st.path)
	case gen != st.gen:
		return nil, false
	default:
		p.ns.SetKeyGeneration(st.path, gen)
	}
	st.gen = gen
	key := baseKey(st.digest, gen)
	d := time.Duration(ttl)
	if nv > 0 {
		vr := append(st.keybuf[:0], kindVary)
		for i := 0; i < nv; i++ {
			vr = appendLower(vr, names[i])
		}
		p.ns.Set(key[:], vr, d+time.Duration(p.keepStale))
		key = p.variantKey(c, st, append([]byte(nil), vr[1:]...))
	}
	p.ns.Set(key[:], rec, d)
	p.n.stored.Add(1)
	return rec, true
}

// bufferStream reads a streamed response's body into memory when it can
// be done within bounds: its length is announced and at most
// max_object_size, and it is not an event stream (which would wait for
// events). A stream of unknown length (chunked, close-delimited) is left
// alone: reading part of it could not be undone, and it may be endless.
func (p *Plugin) bufferStream(c *plugin.Context) bool {
	resp := c.Response
	cl := resp.Header.ContentLength()
	if cl < 0 || cl > p.maxSize || isEventStream(resp.Header.ContentType()) {
		return false
	}
	buf := make([]byte, cl)
	if _, err := io.ReadFull(resp.BodyStream(), buf); err != nil {
		// The upstream broke off in the middle of the body.
		c.Error(502, "bad response from upstream")
		return false
	}
	resp.SetBody(buf)
	return true
}

// repeatMark starts a stored header name that appeared before in the same
// response: it is added on replay, where the first one is set.
const repeatMark = 1

// repeated reports whether name is among the n headers already encoded in b.
func repeated(b []byte, n int, name []byte) bool {
	r := reader{b: b}
	for i := 0; i < n; i++ {
		k, _ := r.next()
		r.next()
		if len(k) > 0 && k[0] == repeatMark {
			k = k[1:]
		}
		if bytes.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// skipStored lists the response headers never stored: per-connection
// ones, those the gateway sets itself on each answer, and Set-Cookie.
func skipStored(k []byte) bool {
	switch len(k) {
	case 3:
		return httpbytes.EqualFold(k, "Age")
	case 4:
		return httpbytes.EqualFold(k, "Date")
	case 10:
		return httpbytes.EqualFold(k, "Connection") || httpbytes.EqualFold(k, "Keep-Alive") || httpbytes.EqualFold(k, "Set-Cookie")
	case 14:
		return httpbytes.EqualFold(k, "Content-Length") || httpbytes.EqualFold(k, "X-Cache-Status")
	case 17:
		return httpbytes.EqualFold(k, "Transfer-Encoding")
	}
	return false
}

// isEventStream reports whether a Content-Type is text/event-stream, in
// any case (media types are case-insensitive), as the upstream judges it.
func isEventStream(ct []byte) bool { return httpbytes.HasPrefixFold(ct, "text/event-stream") }

// warnKeyChanged says, once per step, that a step after the cache step
// changed what the key is made of, so that its responses are not stored.
func (p *Plugin) warnKeyChanged(c *plugin.Context) {
	if p.keyWarned.CompareAndSwap(false, true) {
		c.LogAttrs(slog.LevelWarn, "cache: a step after the cache step changed the consumer, the upstream or the key parts of a request, "+
			"so its response is not stored; put such steps (auth, gw.upstream.set_upstream, gw.cache_key.add) before the cache step")
	}
}
