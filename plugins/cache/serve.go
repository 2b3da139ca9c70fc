package cache

import (
	"bytes"
	"strconv"
	"time"

	"github.com/moongate/moongate/core/httpbytes"
	"github.com/moongate/moongate/core/plugin"
	"github.com/valyala/fasthttp"
)

// serve writes entry e as the response, with Age and X-Cache-Status, and
// answers the client's validators with 304 when they match, and its
// range. e lies in *buf (st.val, or st.rec for a record just built),
// which moves into the response with the body (see moveBody): after
// serve, *buf is another buffer and e must not be read again.
func (p *Plugin) serve(c *plugin.Context, st *state, e *entry, buf *[]byte, now int64, label []byte) {
	resp := c.Response
	p.writeEntry(st, resp, e)
	var b [20]byte
	resp.Header.SetCanonical(hdrAge, strconv.AppendInt(b[:0], e.age(now)/int64(time.Second), 10))
	resp.Header.SetCanonical(hdrStatus, label)
	if e.status == 200 {
		answerClient(resp, st, e.body, buf)
	} else {
		moveBody(resp, buf, e.body)
	}
}

// answerClient completes a 200 response whose body is body: the client's
// validators are answered first (a 304 when they match), then its range
// (206, 416); otherwise the whole body goes. body is resp's own when buf
// is nil; otherwise it lies in *buf, and what is sent of it (the whole
// body or the range) moves into resp with *buf, uncopied (moveBody).
func answerClient(resp *fasthttp.Response, st *state, body []byte, buf *[]byte) {
	if answerConditional(resp, st.reqINM, st.reqIMS) {
		return
	}
	if len(st.reqRange) > 0 {
		if part, ok := answerRange(resp, body, st.reqRange, st.reqIfRange); ok {
			if part != nil {
				putBody(resp, buf, part)
			}
			return
		}
	}
	if buf != nil {
		moveBody(resp, buf, body)
	}
}

// putBody makes b the body of resp: b is a part of resp's own body when
// buf is nil (it is moved to the front of resp's buffer), and lies in
// *buf otherwise (moveBody).
func putBody(resp *fasthttp.Response, buf *[]byte, b []byte) {
	if buf == nil {
		resp.SetBody(b) // b may be resp's own: append copies overlapping bytes correctly
		return
	}
	moveBody(resp, buf, b)
}

// moveBody makes body, which lies in *buf, the body of resp without
// copying it: *buf becomes resp's body buffer, resp's previous body
// buffer (emptied) takes its place in *buf, and body is set as resp's raw
// body (fasthttp's SetBodyRaw), a part of that buffer. The state the
// buffer came from may go back to its pool at once: the bytes are resp's
// now, and fasthttp writes them from there.
//
// The body stays valid until resp is written because resp keeps its body
// buffer to itself until then: KeepBodyBuffer stops Reset and ResetBody
// (of SetBodyRaw, or of a later step replacing the body) from giving the
// buffer to fasthttp's pool, where another response could take it while
// the raw body is still to be written; fasthttp's server clears it once
// the response is written. A later step that replaces the body writes
// into that buffer only once resp no longer points to the raw body
// (SetBody, or any call that gives the body buffer, drops the raw body
// first; SetBody with a part of the raw body copies it correctly, the
// copy moving bytes towards the buffer's start). Note that fasthttp's
// AppendBody after SetBodyRaw replaces the raw body rather than adding
// to it: a step that appends must read Body() and SetBody the whole.
func moveBody(resp *fasthttp.Response, buf *[]byte, body []byte) {
	resp.KeepBodyBuffer = true
	old := resp.SwapBody((*buf)[:0])
	resp.SetBodyRaw(body)
	*buf = old[:0]
}

// writeEntry replaces resp with the stored response's status and headers
// (the caller sets the body). Its header is
// rendered once per state and entry: the state keeps the last one it
// rendered (pooled states are reused by the same P, and hot entries are
// served over and over), and the same entry again is one copy. An entry
// is known by its key and the times it was requested and received, which
// no other record shares.
func (p *Plugin) writeEntry(st *state, resp *fasthttp.Response, e *entry) {
	resp.Reset()
	if st.memoOK && st.memoKey == st.key && st.memoStamp == e.stamp && st.memoRespTime == e.respTime {
		st.memo.CopyTo(&resp.Header)
		return
	}
	r := reader{b: e.headers}
	for i := 0; i < e.nh; i++ {
		k, ok1 := r.next()
		v, ok2 := r.next()
		if !ok1 || !ok2 || len(k) == 0 {
			break
		}
		if i == 0 && httpbytes.EqualFold(k, "Date") {
			// Stored first (see store): the origin's Date is kept.
			setDate(st, resp, v)
			continue
		}
		// Names are stored canonical; a repeated name (second Vary,
		// Link...) is marked with a leading repeatMark and added.
		if k[0] == repeatMark {
			resp.Header.AddBytesKV(k[1:], v)
		} else {
			resp.Header.SetCanonical(k, v)
		}
	}
	resp.SetStatusCode(e.status)
	resp.Header.CopyTo(&st.memo)
	st.memoKey, st.memoStamp, st.memoRespTime, st.memoOK = st.key, e.stamp, e.respTime, true
}

// answerConditional turns a 200 into a 304 when the client's validators
// match it (RFC 9110 §13.1.2 and §13.1.3: If-None-Match wins), and
// reports whether it did.
func answerConditional(resp *fasthttp.Response, inm, ims []byte) bool {
	if len(inm) == 0 && len(ims) == 0 {
		return false
	}
	if !notModified(inm, ims, resp.Header.Peek("ETag"), resp.Header.Peek("Last-Modified")) {
		return false
	}
	resp.SetStatusCode(304)
	resp.Header.SetStatusMessage(nil)
	resp.ResetBody()
	resp.Header.Del("Content-Type")
	resp.Header.Del("Content-Encoding")
	return true
}

// notModified evaluates If-None-Match (weak comparison) or, without it,
// If-Modified-Since.
func notModified(inm, ims, etag, lastMod []byte) bool {
	if len(inm) > 0 {
		// "*" matches any current representation (RFC 9110 §13.1.2).
		if string(httpbytes.TrimOWS(inm)) == "*" {
			return true
		}
		if len(etag) == 0 {
			return false
		}
		want := opaque(etag)
		for len(inm) > 0 {
			var tag []byte
			tag, inm = httpbytes.NextElement(inm)
			if bytes.Equal(opaque(tag), want) {
				return true
			}
		}
		return false
	}
	since, ok1 := parseDate(ims)
	lm, ok2 := parseDate(lastMod)
	return ok1 && ok2 && lm <= since
}

// opaque strips the weakness indicator of an entity tag.
func opaque(t []byte) []byte {
	if len(t) > 2 && t[0] == 'W' && t[1] == '/' {
		return t[2:]
	}
	return t
}
