package reqctx

import (
	"strconv"

	"github.com/valyala/fasthttp"
)

// WriteError replaces resp with the gateway's one error format:
//
//	{"error":"upstream timed out","status":504,"request_id":"..."}
//
// request_id is present when the request has one. The message is JSON-escaped.
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
	b = appendJSONString(b, message)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	if len(requestID) > 0 {
		b = append(b, `,"request_id":`...)
		b = appendJSONString(b, string(requestID))
	}
	b = append(b, "}\n"...)
	resp.SetBody(b)
}

// appendJSONString appends s as a JSON string literal.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x7f:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
