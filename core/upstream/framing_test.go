package upstream_test

import (
	"bytes"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
)

// rawResponder answers every request, one per connection, with head
// followed by body, then closes the connection. It counts requests.
type rawResponder struct {
	url  string
	hits atomic.Int64
}

func startRawResponder(t *testing.T, head string, body []byte) *rawResponder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	r := &rawResponder{url: "http://" + ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				buf := make([]byte, 8192)
				got := 0
				for !bytes.Contains(buf[:got], []byte("\r\n\r\n")) && got < len(buf) {
					n, err := c.Read(buf[got:])
					if err != nil {
						return
					}
					got += n
				}
				r.hits.Add(1)
				c.Write([]byte(head))
				c.Write(body)
			}()
		}
	}()
	return r
}

// TestUnknownTransferEncodingReadUntilClose: a response whose
// Transfer-Encoding does not end in chunked has a body delimited by the
// end of the connection (RFC 9112 §6.3, rule 4), whatever Content-Length
// says: it reaches the client, small or streamed, instead of a 502.
// chunked after another coding cannot be undone by the gateway: 502.
func TestUnknownTransferEncodingReadUntilClose(t *testing.T) {
	large := bytes.Repeat([]byte("x"), 3<<20) // over stream_threshold: streamed
	for _, tc := range []struct {
		name, head string
		body       []byte
		status     int
	}{
		{"gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", []byte("hello world"), 200},
		{"unknown coding", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: x-custom\r\n\r\n", []byte("hello world"), 200},
		{"unknown coding beats Content-Length", "HTTP/1.1 200 OK\r\nTransfer-Encoding: x-custom\r\nContent-Length: 3\r\n\r\n", []byte("hello world"), 200},
		{"chunked then another coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, x-custom\r\n\r\n", []byte("5\r\nhello\r\n0\r\n\r\n"), 200},
		{"two lines, the last not chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", []byte("raw"), 200},
		{"streamed", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", large, 200},
		{"another coding then chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", []byte("5\r\nhello\r\n0\r\n\r\n"), 502},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := startRawResponder(t, tc.head, tc.body)
			g := gatewaytest.Start(t, `
[[upstreams]]
name = "raw"
targets = [{ url = "`+up.url+`" }]
[[routes]]
paths = ["/"]
upstream = "raw"
`)
			for i := 0; i < 2; i++ { // the connection is not reused after such a body
				status, body, resp := gatewaytest.Do(t, "GET", g.URL+"/te", nil)
				if status != tc.status {
					t.Fatalf("request %d: status %d, want %d: %s", i, status, tc.status, short(body))
				}
				if tc.status == 200 && !bytes.Equal(body, tc.body) {
					t.Fatalf("request %d: body %s, want %s", i, short(body), short(tc.body))
				}
				if te := resp.Header.Peek("Transfer-Encoding"); tc.status == 200 && len(tc.body) < 100 && len(te) > 0 {
					t.Fatalf("request %d: Transfer-Encoding %q reached the client with a decoded body", i, te)
				}
			}
			if up.hits.Load() != 2 {
				t.Fatalf("upstream hits = %d, want 2", up.hits.Load())
			}
		})
	}
}

func short(b []byte) string {
	if len(b) > 60 {
		return strings.TrimSpace(string(b[:60])) + "..."
	}
	return string(b)
}
