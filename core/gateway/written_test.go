package gateway

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// The scan of a response's bytes counts its body whatever the split of
// the writes that carry it, and stops where the response ends.
func TestRespScanEverySplit(t *testing.T) {
	chunked := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"5\r\nhello\r\n" + "1a\r\nabcdefghijklmnopqrstuvwxyz\r\n" + "0\r\n\r\n"
	for _, tc := range []struct {
		name   string
		out    string // the bytes written, a response and maybe the next one's start
		method string
		status int
		stream bool // a stream of unknown length: chunked
		body   string
		sent   int64
		rest   string // what follows the response
	}{
		{name: "fixed length", out: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", status: 200, body: "hello", sent: 5},
		{name: "fixed length, then the next response", out: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 204",
			status: 200, body: "hello", sent: 5, rest: "HTTP/1.1 204"},
		{name: "a body holding CRLF CRLF", out: "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n\r\n\r\nab", status: 200, body: "\r\n\r\nab", sent: 6},
		{name: "HEAD", out: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/", method: "HEAD", status: 200, body: "hello", sent: 0, rest: "HTTP/"},
		{name: "304", out: "HTTP/1.1 304 Not Modified\r\n\r\n", status: 304, sent: 0},
		{name: "chunked", out: chunked, status: 200, stream: true, sent: 31},
		{name: "chunked, trailer, next", out: "HTTP/1.1 200 OK\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\nHTTP", status: 200, stream: true, sent: 3, rest: "HTTP"},
	} {
		for split := 0; split <= len(tc.out); split++ {
			for _, step := range []int{1, 2, 7, len(tc.out) + 1} {
				var req fasthttp.Request
				var resp fasthttp.Response
				if tc.method != "" {
					req.Header.SetMethod(tc.method)
				}
				resp.SetStatusCode(tc.status)
				if tc.stream {
					resp.SetBodyStream(strings.NewReader(""), -1)
				} else {
					resp.SetBodyString(tc.body)
				}
				var s respScan
				s.start(&req, &resp)
				var rest []byte
				feed := func(b []byte) {
					for len(b) > 0 {
						n := min(step, len(b))
						rest = append(rest, s.feed(b[:n])...)
						b = b[n:]
					}
				}
				feed([]byte(tc.out[:split]))
				feed([]byte(tc.out[split:]))
				if !s.done() || s.body != tc.sent || string(rest) != tc.rest {
					t.Fatalf("%s, split at %d, writes of %d: done %v, body %d, rest %q; want done, %d, %q",
						tc.name, split, step, s.done(), s.body, rest, tc.sent, tc.rest)
				}
			}
		}
	}
}

// A response whose bytes do not start as a response (pipelined bytes of
// an earlier one nobody followed) is not counted: its size is unknown.
func TestRespScanLost(t *testing.T) {
	var req fasthttp.Request
	var resp fasthttp.Response
	resp.SetBodyStream(strings.NewReader(""), -1)
	var s respScan
	s.start(&req, &resp)
	s.feed([]byte("lo\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n3\r\nabc\r\n"))
	if s.state != scanLost || s.active() {
		t.Fatalf("state %d, want lost", s.state)
	}
}
