package cache

import (
	"bytes"
	"strconv"

	"github.com/moongate/moongate/core/httpbytes"
	"github.com/valyala/fasthttp"
)

// Range requests (RFC 9110 §14) are answered from complete 200
// responses, stored or just fetched: one byte range gets a 206 with
// Content-Range, a range past the end a 416. Several ranges get the whole
// response (200), as a server may always answer (§14.2): a multipart
// answer saves little for what it costs, and overlapping ranges are a
// known amplification. A Range with another unit, or invalid, is ignored
// likewise. If-Range makes the range conditional on the stored
// response's strong ETag, or on its Last-Modified when that is strong
// (§13.1.5); otherwise the whole response is sent.

// severalRanges stands for a request with more than one Range line.
var severalRanges = []byte("bytes=,")

// answerRange turns resp, a complete 200 response whose body is body,
// into the answer to a range request, and reports whether it did: then
// part is the range of body the caller makes resp's body (a 206), or nil
// with resp's body emptied (a 416). false leaves resp alone.
func answerRange(resp *fasthttp.Response, body, rng, ifRange []byte) (part []byte, ok bool) {
	if len(ifRange) > 0 && !ifRangeHolds(&resp.Header, ifRange) {
		return nil, false
	}
	first, last, ok := parseRange(rng, len(body))
	if !ok {
		return nil, false
	}
	resp.Header.SetStatusMessage(nil)
	if first < 0 {
		resp.SetStatusCode(416)
		var buf [32]byte
		b := strconv.AppendInt(append(buf[:0], "bytes */"...), int64(len(body)), 10)
		resp.Header.SetBytesV("Content-Range", b)
		resp.ResetBody()
		resp.Header.Del("Content-Type")
		resp.Header.Del("Content-Encoding")
		return nil, true
	}
	resp.SetStatusCode(206)
	resp.Header.SetContentRange(first, last, len(body))
	return body[first : last+1], true
}

// parseRange reads a Range of one byte range against a body of n bytes:
// ok is false when it is to be ignored (another unit, several ranges,
// invalid); first is -1 when the range is unsatisfiable.
func parseRange(v []byte, n int) (first, last int, ok bool) {
	v = httpbytes.TrimOWS(v)
	if len(v) < 6 || !httpbytes.EqualFold(v[:6], "bytes=") {
		return 0, 0, false
	}
	spec := httpbytes.TrimOWS(v[6:])
	if bytes.IndexByte(spec, ',') >= 0 {
		return 0, 0, false
	}
	i := bytes.IndexByte(spec, '-')
	if i < 0 {
		return 0, 0, false
	}
	a, b := spec[:i], spec[i+1:]
	if len(a) == 0 {
		// bytes=-N: the last N bytes
		sfx, ok := rangeNum(b)
		if !ok {
			return 0, 0, false
		}
		if sfx == 0 || n == 0 {
			return -1, 0, true
		}
		return max(n-sfx, 0), n - 1, true
	}
	first, ok = rangeNum(a)
	if !ok {
		return 0, 0, false
	}
	last = n - 1
	if len(b) > 0 {
		l, ok := rangeNum(b)
		if !ok || l < first {
			return 0, 0, false
		}
		last = min(l, n-1)
	}
	if first >= n {
		return -1, 0, true
	}
	return first, last, true
}

// rangeNum reads the digits of a range position; huge values are capped
// (they are past any body).
func rangeNum(b []byte) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < 1<<40 {
			n = n*10 + int(c-'0')
		}
	}
	return n, true
}

// ifRangeHolds evaluates If-Range against the stored response's
// validators (RFC 9110 §13.1.5): an entity-tag must match the ETag by
// strong comparison; a date must equal Last-Modified exactly, and
// Last-Modified be strong: at least a second before the response's Date
// (§8.8.2.2).
func ifRangeHolds(h *fasthttp.ResponseHeader, ifRange []byte) bool {
	ifRange = httpbytes.TrimOWS(ifRange)
	if len(ifRange) > 0 && (ifRange[0] == '"' || bytes.HasPrefix(ifRange, []byte(`W/"`))) {
		etag := httpbytes.TrimOWS(h.Peek("ETag"))
		return ifRange[0] == '"' && len(etag) > 0 && etag[0] == '"' && bytes.Equal(etag, ifRange)
	}
	since, ok1 := parseDate(ifRange)
	lm, ok2 := parseDate(h.Peek("Last-Modified"))
	date, ok3 := parseDate(h.Peek("Date"))
	return ok1 && ok2 && ok3 && since == lm && date-lm >= 1e9
}
