package upstream

import (
	"bufio"
	"net"
	"time"

	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/valyala/fasthttp"
)

var http11 = []byte("HTTP/1.1")

// forward10 forwards the request of a client that speaks HTTP/1.0 (or any
// version other than 1.1). The request goes upstream as HTTP/1.1, the
// gateway's own version (RFC 9110 §2.5), so that the target may answer
// with chunked or kept-alive framing; the client's version is put back
// before the response phase, and the server answers the client in terms
// it understands: "Connection: keep-alive" only when it asked for it,
// Content-Length framing, and for a streamed body of unknown length, see
// closeDelimited.
func (u *Upstream) forward10(c *reqctx.Context) error {
	h := &c.Request.Header
	var proto [8]byte // fasthttp accepts only "HTTP/d.d"
	n := copy(proto[:], h.Protocol())
	h.SetProtocolBytes(http11)
	err := u.forward(c)
	h.SetProtocolBytes(proto[:n])
	if err == nil {
		u.closeDelimited(c)
	}
	return err
}

// closeDelimited arranges for a streamed body of unknown length (chunked
// or close-delimited upstream, too long to buffer, or a live stream) to
// reach an HTTP/1.0 client, which cannot read chunked framing: as nginx
// does, the body is sent as it comes without Content-Length or
// Transfer-Encoding, and the end of the connection ends it (RFC 9112
// §6.3). fasthttp would frame it in chunks, so the gateway writes this
// response itself on the connection, after the response phase.
func (u *Upstream) closeDelimited(c *reqctx.Context) {
	fc := c.Fast
	if fc == nil || fc.Hijacked() || !c.Response.IsBodyStream() || c.Response.Header.ContentLength() >= 0 {
		return
	}
	wt := u.writeTimeout
	fc.HijackSetNoResponse(true)
	fc.Hijack(func(conn net.Conn) { writeCloseDelimited(conn, &fc.Response, wt) })
}

// writeCloseDelimited writes resp on conn for an HTTP/1.0 client and
// closes the body stream; the server closes the connection after it. A
// step of the response phase may have replaced the streamed body: that
// response is written as the server would, on a connection that ends.
func writeCloseDelimited(conn net.Conn, resp *fasthttp.Response, writeTimeout time.Duration) {
	defer resp.CloseBodyStream() //nolint:errcheck // gives the upstream connection back, or closes it
	deadline := func() {
		if writeTimeout > 0 {
			_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		}
	}
	bw := bufio.NewWriterSize(conn, 16<<10)
	stream := resp.BodyStream()
	h := &resp.Header
	h.Del("Connection") // a keep-alive the server may have granted
	if stream == nil || h.ContentLength() >= 0 {
		h.SetConnectionClose()
		deadline()
		if resp.Write(bw) == nil {
			_ = bw.Flush()
		}
		return
	}
	h.Del("Transfer-Encoding")
	h.SetContentLength(-2) // no framing header; the connection ends the body
	h.SetConnectionClose()
	deadline()
	if h.Write(bw) != nil || bw.Flush() != nil {
		return
	}
	buf := make([]byte, 16<<10)
	for {
		n, err := stream.Read(buf)
		if n > 0 {
			deadline()
			if _, werr := bw.Write(buf[:n]); werr != nil || bw.Flush() != nil {
				return
			}
		}
		if err != nil {
			return // the end of the body, or a failure: either way the connection ends
		}
	}
}
