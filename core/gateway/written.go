package gateway

import (
	"bytes"
	"io"
	"time"

	"github.com/moongate/moongate/core/httpbytes"
	"github.com/moongate/moongate/core/internal/chain"
	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/valyala/fasthttp"
)

// The log phase of a request runs once its response is written: fasthttp
// writes the response after the handler returns (a streamed body as the
// client takes it), so the handler parks the request on its connection
// (awaitWrite) and the server's ConnState hook ends it (writeEnded) when
// the connection goes idle (the response was written whole), closes
// (written whole before a Connection: close, or cut short: the client
// went away, a write or the body's stream failed) or is hijacked (a
// WebSocket upgrade, after its 101). The hook runs on the connection's
// own goroutine, after fasthttp flushed what it could, so the request
// time includes the write.
//
// How many body bytes reached the client is read from the connection's
// writes (conn.Write feeds them to a respScan), whatever wrote the body:
// a buffered body, the upstream's stream, a step's stream (compression,
// SetBodyStreamWriter). Bytes count once the kernel took them; what the
// kernel took for a client that left is counted as sent, as nginx does.

// logAfterWrite runs the log phase of c once fc's response is written.
// Without a gateway connection, the write counts as done now.
func (rt *Runtime) logAfterWrite(fc *fasthttp.RequestCtx, c *reqctx.Context) {
	if !awaitWrite(fc, c, chain.EndLog) {
		chain.FinishLog(c, rt.release)
		return
	}
	// Prepared after awaitWrite: the write it waits for ends after the
	// handler (this call's caller) has returned, never before.
	chain.PrepareLog(c, rt.release)
}

// pending is a request waiting for the end of its response's write.
type pending struct {
	c      *reqctx.Context
	done   func(*reqctx.Context) // called once the context knows how its write ended
	scan   respScan
	failed bool // a write of the connection failed
}

// awaitWrite parks c, whose response fc is about to write, on the
// connection until the write ends; then done gets it. It reports false,
// changing nothing, when fc has no gateway connection (a RequestCtx built
// by hand): the write is then considered done.
func awaitWrite(fc *fasthttp.RequestCtx, c *reqctx.Context, done func(*reqctx.Context)) bool {
	cc := connOf(fc.Conn())
	if cc == nil {
		return false
	}
	if cc.cur.c != nil {
		// Cannot happen: the hook ends each request before the next is
		// read. Never lose one: end it as cut short.
		cc.writeEnded(time.Now(), false)
	}
	// With pipelined requests, the last bytes of earlier responses may
	// still wait in fasthttp's buffer: they come first.
	lost := false
	if cc.cur.scan.active() {
		if cc.prev.active() {
			lost = true // two responses ahead: where this one starts is unknown
		} else {
			cc.prev = cc.cur.scan
		}
	}
	p := &cc.cur
	p.c, p.done, p.failed = c, done, false
	p.scan.start(&fc.Request, &fc.Response)
	if lost {
		p.scan.state = scanLost
	}
	if fc.Hijacked() && fc.Response.StatusCode() != fasthttp.StatusSwitchingProtocols {
		// The hijack handler writes the response itself (an HTTP/1.0
		// client's stream, ended by the connection's end), after the
		// server is done with the connection: the write ends when the
		// handler returns and the server closes the connection (Close).
		p.scan.untilClose = true
		cc.endOnClose = true
	}
	cc.tracking = cc.prev.active() || p.scan.active() || cc.meter.scan.active()
	return true
}

// writeEnded ends the request parked on the connection: idle is true
// when fasthttp went on to the next request, so its write of the
// response succeeded whole (its last bytes may wait in its buffer for
// the next response, when requests are pipelined). now is when the
// write ended.
func (cc *conn) writeEnded(now time.Time, idle bool) {
	p := &cc.cur
	if p.c == nil {
		return
	}
	s := &p.scan
	sent, complete := s.body, false
	switch {
	case s.untilClose:
		complete = !p.failed && s.state == scanRest
	case idle && s.expect >= 0:
		sent, complete = s.expect, true
	case idle:
		complete = true
		if s.state == scanLost {
			sent = -1 // a chunked body after unknown bytes: not counted
		}
	case s.state == scanLost:
		sent = -1
	default:
		complete = s.done()
	}
	c, done := p.c, p.done
	p.c, p.done = nil, nil
	c.WriteEnded(now, sent, complete)
	done(c)
}

// feed counts the bytes the kernel took from a write.
func (cc *conn) feed(b []byte) {
	if cc.prev.active() {
		b = cc.prev.feed(b)
	}
	if len(b) > 0 && cc.cur.scan.active() {
		cc.cur.scan.feed(b)
	}
	if len(b) > 0 && cc.meter.scan.active() {
		cc.meter.scan.feed(b)
	}
	cc.tracking = cc.prev.active() || cc.cur.scan.active() || cc.meter.scan.active()
}

// respScan follows the bytes of one response as they are written, to
// count its body bytes: the head up to its empty line, then the body as
// framed (a length, or chunks whose framing is not counted).
type respScan struct {
	state   uint8
	noBody  bool // HEAD, 1xx, 204, 304: the head only
	chunked bool // the body is chunked (a stream of unknown length)
	// untilClose: the body is whatever follows the head until the
	// connection ends (written by a hijack handler).
	untilClose bool
	expect     int64 // the body's length, -1 when chunked
	body       int64 // body bytes written
	left       int64 // bytes left in the fixed-length body or the current chunk
	size       int64 // the chunk size being read
	crlf       uint8 // how much of "\r\n\r\n" ends the bytes seen (head, trailer)
	lead       uint8 // how much of "HTTP/" starts the response
}

const (
	scanIdle       = iota // nothing to follow
	scanLead              // the first bytes: "HTTP/", or bytes of something else
	scanHead              // the head, up to its empty line
	scanFixed             // a body of known length
	scanSize              // a chunk-size line's digits
	scanExt               // a chunk extension, up to CR
	scanSizeLF            // the LF after a chunk-size line
	scanData              // a chunk's data
	scanDataCR            // the CRLF after a chunk's data
	scanDataLF            // the LF of that CRLF
	scanTrailer           // the trailer section, up to its empty line
	scanRest              // a body ended by the connection's end
	scanDone              // the response is written
	scanLost              // the bytes do not follow the expected framing
	maxChunkDigits = 15   // hex digits of a chunk size fasthttp may write
)

// start begins following the response resp to req.
func (s *respScan) start(req *fasthttp.Request, resp *fasthttp.Response) {
	*s = respScan{state: scanLead, expect: -1}
	status := resp.StatusCode()
	s.noBody = req.Header.IsHead() || resp.SkipBody || status < 200 || status == 204 || status == 304
	switch {
	case s.noBody:
		s.expect = 0
	case resp.IsBodyStream():
		cl := resp.Header.ContentLength()
		if lr, ok := resp.BodyStream().(*io.LimitedReader); ok && cl < 0 {
			cl = int(lr.N) // fasthttp's own rule
		}
		if cl >= 0 {
			s.expect = int64(cl)
		} else {
			s.chunked = true
		}
	default:
		s.expect = int64(len(resp.Body()))
	}
}

// done reports whether the whole response has been seen.
func (s *respScan) done() bool { return s.state == scanDone }

// active reports whether the scan waits for more of its response.
func (s *respScan) active() bool {
	return s.state != scanIdle && s.state != scanDone && s.state != scanLost
}

// feed follows b, bytes of the response, and returns what follows the
// response's end in b (the next response's bytes).
func (s *respScan) feed(b []byte) []byte {
	for len(b) > 0 {
		switch s.state {
		case scanIdle, scanDone, scanLost:
			return b
		case scanLead:
			const lead = "HTTP/"
			for len(b) > 0 && s.lead < uint8(len(lead)) {
				if b[0] != lead[s.lead] {
					// Bytes of an earlier response nobody followed: where
					// this one starts is unknown.
					s.state = scanLost
					return nil
				}
				s.lead++
				b = b[1:]
			}
			if s.lead == uint8(len(lead)) {
				s.state = scanHead
			}
		case scanHead, scanTrailer:
			i := s.endOfHead(b)
			if i < 0 {
				return nil
			}
			b = b[i:]
			s.crlf = 0
			switch {
			case s.untilClose && s.state == scanHead:
				s.state = scanRest
			case s.state == scanTrailer, s.noBody:
				s.state = scanDone
			case s.chunked:
				s.state = scanSize
			default:
				s.state, s.left = scanFixed, s.expect
				if s.left == 0 {
					s.state = scanDone
				}
			}
		case scanRest:
			s.body += int64(len(b))
			return nil
		case scanFixed, scanData:
			n := int64(len(b))
			if n > s.left {
				n = s.left
			}
			s.body += n
			s.left -= n
			b = b[n:]
			if s.left == 0 {
				if s.state == scanFixed {
					s.state = scanDone
				} else {
					s.state = scanDataCR
				}
			}
		default:
			s.framing(b[0])
			b = b[1:]
		}
	}
	return nil
}

// endOfHead returns the index in b just past the "\r\n\r\n" that ends a
// head (or trailer) whose bytes before b ended in s.crlf of its bytes,
// or -1 with s.crlf updated when b does not hold it.
func (s *respScan) endOfHead(b []byte) int {
	const end = "\r\n\r\n"
	// The end begun in the bytes before b, byte by byte.
	i := 0
	for ; s.crlf > 0 && i < len(b); i++ {
		switch ch := b[i]; {
		case ch == end[s.crlf]:
			s.crlf++
			if s.crlf == 4 {
				return i + 1
			}
		case ch == '\r':
			s.crlf = 1
		default:
			s.crlf = 0
		}
	}
	if j := bytes.Index(b[i:], []byte(end)); j >= 0 {
		return i + j + 4
	}
	// What of the end the last bytes of b begin.
	for k := max(i, len(b)-3); k < len(b); k++ {
		switch ch := b[k]; {
		case ch == end[s.crlf]:
			s.crlf++
		case ch == '\r':
			s.crlf = 1
		default:
			s.crlf = 0
		}
	}
	return -1
}

// framing follows one byte of the chunked framing.
func (s *respScan) framing(ch byte) {
	switch s.state {
	case scanSize:
		switch d, hex := httpbytes.Unhex(ch); {
		case hex && s.size>>(4*(maxChunkDigits-1)) == 0:
			s.size = s.size<<4 | int64(d)
		case ch == ';':
			s.state = scanExt
		case ch == '\r':
			s.state = scanSizeLF
		default:
			s.state = scanLost
		}
	case scanExt:
		if ch == '\r' {
			s.state = scanSizeLF
		}
	case scanSizeLF:
		switch {
		case ch != '\n':
			s.state = scanLost
		case s.size == 0:
			// The last chunk: the trailer section follows, ended by an
			// empty line; its first line may be that empty line.
			s.state, s.crlf = scanTrailer, 2
		default:
			s.state, s.left, s.size = scanData, s.size, 0
		}
	case scanDataCR:
		s.state = scanDataLF
		if ch != '\r' {
			s.state = scanLost
		}
	case scanDataLF:
		s.state = scanSize
		if ch != '\n' {
			s.state = scanLost
		}
	}
}
