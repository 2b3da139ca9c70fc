package reqctx

import (
	"strconv"

	"github.com/moongate/moongate/core/jsonstr"
	"github.com/valyala/fasthttp"
)

// WriteError replaces resp with the gateway's one error format:
//
//	{"error":"upstream timed out","status":504,"request_id":"..."}
//
// request_id is present when the request has one. The message and the
// ID are escaped as HTML-safe JSON (core/jsonstr): '<', '>' and '&' too,
// and each byte of invalid UTF-8 becomes U+FFFD, so the body is valid
// JSON that a browser cannot take for markup.
func WriteError(resp *fasthttp.Response, status int, message string, requestID []byte) {
	resp.ResetBody()
	resp.Header.SetStatusCode(status)
	// The status line gets the standard phrase of status, never one read
	// from an upstream with another status ("500 OK").
	resp.Header.SetStatusMessage(nil)
	resp.Header.SetContentType("application/json")
	resp.Header.Del("Content-Encoding")
	resp.Header.Del("ETag")
	resp.Header.Del("Last-Modified")
	resp.Header.Del("Cache-Control")
	resp.Header.Del("Content-Disposition")
	var buf [256]byte
	b := append(buf[:0], `{"error":`...)
	b = jsonstr.QuoteHTML(b, message)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	if len(requestID) > 0 {
		b = append(b, `,"request_id":`...)
		b = jsonstr.QuoteHTML(b, string(requestID))
	}
	b = append(b, "}\n"...)
	resp.SetBody(b)
}
