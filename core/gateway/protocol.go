package gateway

import (
	"bytes"

	"github.com/moongate/moongate/core/httpbytes"
	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/valyala/fasthttp"
)

// checkRequest applies, once and before routing, the rules of the request
// head that fasthttp's parser leaves to the gateway, then the path
// policy. It returns the status and message of the refusal, or 0.
func (rt *Runtime) checkRequest(fc *fasthttp.RequestCtx, path []byte) (int, string) {
	if status, msg := rt.checkHead(fc); status != 0 {
		return status, msg
	}
	if msg := rt.checkPath(fc.Request.Header.RequestURI(), path); msg != "" {
		return 400, msg
	}
	return 0, ""
}

// checkHead reads the header block as received, once:
//   - every line must end in CRLF (fasthttp also accepts a bare LF, which
//     a peer may read differently);
//   - a Transfer-Encoding other than a single final "chunked" (fasthttp
//     ignores "identity" and falls back to Content-Length) cannot be framed
//     reliably: 400 (RFC 9112 §6.3);
//   - every header line counts against max_header_count, repeated names
//     and empty values too: 431 past it.
func (rt *Runtime) checkHead(fc *fasthttp.RequestCtx) (int, string) {
	h := &fc.Request.Header
	fields, te, bareLF := scanFields(h.RawHeaders())
	if c := connOf(fc.Conn()); c != nil && c.headRead() {
		bareLF = true
	}
	if bareLF {
		return 400, errBareLF.Error()
	}
	if te && h.ContentLength() != -1 {
		return 400, "Transfer-Encoding must be chunked"
	}
	if fields > rt.maxHeaderCount {
		return 431, "too many request header fields"
	}
	return 0, ""
}

var transferEncoding = []byte("transfer-encoding:")

// scanFields counts the header lines of a raw header block (ending in its
// empty line), and reports whether one is a Transfer-Encoding and whether
// one ends in a bare LF.
func scanFields(raw []byte) (fields int, te, bareLF bool) {
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '\n')
		if i < 0 {
			return fields, te, true
		}
		if i == 0 || raw[i-1] != '\r' {
			bareLF = true
		}
		if i > 1 {
			fields++
			if raw[0]|0x20 == 't' && i > len(transferEncoding) &&
				bytes.EqualFold(raw[:len(transferEncoding)], transferEncoding) {
				te = true
			}
		}
		raw = raw[i+1:]
	}
	return fields, te, bareLF
}

// checkTarget applies the path policy to the request target as received,
// before percent-decoding and dot-segment removal, which could drop the
// offending segment ("/public/%00/../admin" is "/public/admin"): control
// characters, raw or percent-encoded, and with strict_paths ';' and '\',
// in the path (the part before '?'); and a '#' anywhere, since a request
// target has no fragment (RFC 9112 §3.2). Every byte of the normalized
// path comes from the target, as is or percent-decoded once, so the path
// needs no second look.
func (rt *Runtime) checkTarget(t []byte) string {
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !targetSpecial[c] {
			continue
		}
		switch c {
		case '#':
			return msgFragment
		case '?':
			if bytes.IndexByte(t[i+1:], '#') >= 0 {
				return msgFragment
			}
			return ""
		case '%':
			if i+2 < len(t) {
				if d, ok := httpbytes.HexByte(t[i+1], t[i+2]); ok {
					c = d
				}
			}
		}
		if c < 0x20 || c == 0x7f {
			return msgControl
		}
		if rt.strictPaths && (c == ';' || c == '\\') {
			return msgStrict
		}
	}
	return ""
}

const msgFragment = "a fragment ('#') is not allowed in the request target"

// targetSpecial marks the bytes of a request target checkTarget looks at.
var targetSpecial = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	for _, c := range []byte{0x7f, '#', '?', '%', ';', '\\'} {
		t[c] = true
	}
	return t
}()

// bodyTooLarge reports whether a request announces a body over
// max_body_size.
func (rt *Runtime) bodyTooLarge(h *fasthttp.RequestHeader) bool {
	max := rt.Config.Server.MaxBodySize.Int()
	return max > 0 && h.ContentLength() > max
}

// headerReceived is the server's HeaderReceived hook, called once the
// head is read and before any of the body is. fasthttp asks ExpectHandler
// before reading a body only when the client sent "Expect: 100-continue";
// a request announcing a body over max_body_size is marked so, and
// expect refuses it with 413: the client gets its answer from the
// headers alone, and none of the body is read. (An HTTP/1.0 request
// cannot expect 100-continue; fasthttp then reads one byte of the body,
// no more, before the handler answers 413.)
func (g *Gateway) headerReceived(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	if !g.rt.Load().bodyTooLarge(h) {
		return fasthttp.RequestConfig{}
	}
	if h.IsHTTP11() {
		h.Set(fasthttp.HeaderExpect, "100-continue")
	}
	return fasthttp.RequestConfig{MaxRequestBodySize: 1}
}

// expect is the server's ExpectHandler: a request that expects
// 100-continue gets it only if its head passes the checks ServeHTTP makes
// and it announces a body within max_body_size; otherwise it gets the
// refusal at once, and fasthttp closes the connection without reading
// the body.
func (g *Gateway) expect(fc *fasthttp.RequestCtx) int {
	rt := g.rt.Load()
	status, msg := rt.checkRequest(fc, fc.Request.URI().Path())
	if status == 0 && rt.bodyTooLarge(&fc.Request.Header) {
		status, msg = 413, "request body too large"
	}
	if status == 0 {
		return fasthttp.StatusContinue
	}
	reqctx.WriteError(&fc.Response, status, msg, nil)
	return status
}
