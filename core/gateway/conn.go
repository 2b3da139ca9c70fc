package gateway

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/moongate/moongate/core/internal/deadline"
	"github.com/moongate/moongate/core/upstream"
	"github.com/valyala/fasthttp"
)

// Some protocol rules are decided inside fasthttp's parser, before the
// gateway's handler runs: it waits for a CRLF CRLF that a bare-LF head
// never sends, and it skips chunk extensions without a bound. The gateway
// sees the bytes as they arrive through conn, a thin wrapper of every
// accepted connection, and makes the parser's next read fail where the
// request must be refused.

var (
	// errBareLF fails the read that would wait for more of a head whose
	// lines end in a bare LF.
	errBareLF = errors.New("request head lines must end in CRLF")
	// errReadLimit fails a read past the bytes a chunked body may use.
	errReadLimit = errors.New("chunked body framing over its limit")
	// errChunkLine is what the chain and the upstream see of a chunked
	// body whose chunk-size line (with extensions) is too long, or that is
	// otherwise malformed: the client gets 400.
	errChunkLine = upstream.ErrMalformedRequestBody
)

// listener wraps every accepted connection in a conn.
type listener struct {
	net.Listener
	buf   int              // the server's read buffer size (ReadBufferSize)
	srv   *fasthttp.Server // the server of its connections
	park  *parker          // parks its idle connections (see idle.go); nil: none
	limit *connLimit       // max_connections; nil: none
}

// Accept implements net.Listener.
func (l listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.limit != nil && !l.limit.admit() {
			rejectConn(c)
			continue
		}
		if tc, ok := c.(*tls.Conn); ok {
			w := &tlsConn{tls: tc}
			w.conn.init(c, l)
			w.conn.self = w
			return w, nil
		}
		w := &conn{}
		w.init(c, l)
		w.self = w
		return w, nil
	}
}

// conn is a client connection as the gateway reads it: it counts the
// bytes read, watches each request head for bare LFs (headScan) and can
// stop reads at a limit (for chunked bodies, see chunkedBody). One
// connection serves one request at a time, on one goroutine (after a
// WebSocket hijack, only the hijacking one reads it): its fields need no
// lock.
type conn struct {
	net.Conn
	read    int64 // bytes read from the client
	limit   int64 // when > 0, no read goes past this many bytes
	tripped int64 // the limit a read was stopped at, 0 if none
	head    headScan
	body    chunkedBody
	buf     int // the server's read buffer size

	// What is written of responses whose log phase waits for the end of
	// their write (see awaitWrite); tracking: a scan wants the bytes.
	tracking bool
	cur      pending
	prev     respScan
	// endOnClose: the response is written by a hijack handler, and its
	// write ends when the connection is closed.
	endOnClose bool
	// The metrics of the request whose response is being written
	// (awaitMetrics).
	meter pendingMetrics
	// The socket's write deadline: fasthttp sets write_timeout from now
	// before each response, and the socket's timer moves only when its
	// deadline no longer covers that (see SetWriteDeadline).
	wdl deadline.Lazy

	// Parking while idle (see idle.go).
	self   net.Conn // what fasthttp was given: this conn, or the tlsConn around it
	wait   idleWait
	state  atomic.Int32 // connServing, ...
	srv    *fasthttp.Server
	p      *parker
	open   *atomic.Int64 // the listener's count of open connections
	parkID uint32        // while parked; guarded by p.mu
	expiry *time.Timer   // closes it when parked too long; guarded by p.mu
	polled bool          // its socket is in the poller's set
}

// SetWriteDeadline implements net.Conn. The socket's deadline is set a
// little later than t and left alone while later calls ask for no later
// than that (deadline.Lazy): write_timeout fires up to 1/32 of itself
// late (at most a second), and a busy keep-alive connection saves a timer
// update per response.
func (c *conn) SetWriteDeadline(t time.Time) error {
	return c.wdl.Update(t, c.writeTimeout(), c.Conn.SetWriteDeadline)
}

// writeTimeout is the time from now fasthttp's write deadlines are set
// to (0 without a server: a deadline set then is exact).
func (c *conn) writeTimeout() time.Duration {
	if c.srv == nil {
		return 0
	}
	return c.srv.WriteTimeout
}

// SetDeadline implements net.Conn: both deadlines, the write one noted
// for SetWriteDeadline.
func (c *conn) SetDeadline(t time.Time) error {
	c.wdl.Set(t)
	err := c.Conn.SetDeadline(t)
	if err != nil {
		c.wdl.Forget()
	}
	return err
}

func (c *conn) init(nc net.Conn, l listener) {
	c.Conn, c.buf, c.srv, c.p = nc, l.buf, l.srv, l.park
	c.wdl = deadline.Lazy{}
	if l.limit != nil {
		c.open = &l.limit.open
	}
	c.head.state = headLead
}

// Read implements net.Conn.
func (c *conn) Read(p []byte) (int, error) {
	if c.head.bad {
		return 0, errBareLF
	}
	if c.limit > 0 {
		left := c.limit - c.read
		if left <= 0 {
			c.tripped = c.limit
			return 0, errReadLimit
		}
		if int64(len(p)) > left {
			p = p[:left]
		}
	}
	n, err := c.Conn.Read(p)
	if n == 0 && err != nil && c.wait.waiting {
		return 0, c.readFailed(err)
	}
	c.read += int64(n)
	if c.head.state != headDone && n > 0 {
		c.head.scan(p[:n])
	}
	return n, err
}

// Write implements net.Conn.
func (c *conn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if c.tracking {
		c.feed(p[:n])
		if err != nil {
			c.cur.failed = true
		}
	}
	return n, err
}

// nextRequest readies the connection for its next request.
func (c *conn) nextRequest() {
	c.limit, c.tripped = 0, 0
	c.head = headScan{state: headLead}
	c.body = chunkedBody{}
}

// headRead ends the scan of the current request's head, which the parser
// has read whole, and reports whether a line of it ended in a bare LF.
// Ending it keeps the body (and, after a WebSocket upgrade, the frames)
// from being scanned.
func (c *conn) headRead() (bareLF bool) {
	c.head.state = headDone
	return c.head.bad
}

// tlsConn is a conn over TLS: fasthttp finds the TLS state (for
// X-Forwarded-Proto, ALPN) through these two methods.
type tlsConn struct {
	conn
	tls *tls.Conn
}

// Handshake runs the TLS handshake.
func (c *tlsConn) Handshake() error { return c.tls.Handshake() }

// ConnectionState returns the TLS connection state.
func (c *tlsConn) ConnectionState() tls.ConnectionState { return c.tls.ConnectionState() }

// connOf returns the gateway's conn under a connection fasthttp hands
// over, nil for any other (a RequestCtx built by hand, in tests).
func connOf(c net.Conn) *conn {
	switch v := c.(type) {
	case *conn:
		return v
	case *tlsConn:
		return &v.conn
	}
	return nil
}

// connState is the server's ConnState hook: a connection that goes idle
// has written its response and waits for the next request; one that goes
// active has received the first byte of a request; one that is closed or
// hijacked is done with requests. A request waiting for the end of its
// response's write gets it then (see awaitWrite).
func connState(c net.Conn, s fasthttp.ConnState) {
	switch s {
	case fasthttp.StateIdle:
		if cc := connOf(c); cc != nil {
			cc.ended(true, false)
			cc.nextRequest()
			cc.wait.waiting = true
		}
	case fasthttp.StateActive:
		if cc := connOf(c); cc != nil {
			cc.wait = idleWait{}
		}
	case fasthttp.StateClosed, fasthttp.StateHijacked:
		cc := connOf(c)
		if cc == nil || s == fasthttp.StateClosed && cc.state.Load() != connClosed {
			// Parked, not closed (idle.go): its request ended at
			// StateIdle, and it may be served again already, by another
			// goroutine, when fasthttp reports the Close that parked it.
			return
		}
		// A hijacked connection whose handler writes the response is
		// the handler's (see awaitWrite); a WebSocket's 101 was written.
		if !cc.endOnClose {
			cc.ended(false, s == fasthttp.StateHijacked)
		}
	}
}

// ended ends the write of the request parked on the connection, for its
// log phase (writeEnded) and its metrics (metricsEnded), at one reading
// of the clock, taken only when either is waiting.
func (cc *conn) ended(idle, hijacked bool) {
	if cc.cur.c == nil && cc.meter.m == nil {
		return
	}
	now := time.Now()
	cc.writeEnded(now, idle)
	cc.metricsEnded(now, hijacked)
}

// headScan follows the bytes of a request head as they arrive, to find
// a line that ends in a bare LF. fasthttp reads such a line as a line,
// but waits for a CRLF CRLF to end the head: a head ending in LF LF would
// get no answer until read_timeout. The scan starts at the beginning of
// each request; it stops at the end of the head, at the first bare LF
// (then bad is set and the parser's next read fails), or as soon as the
// bytes do not start with a request line, which happens when the head
// arrived with the previous request (pipelining) and the bytes seen are
// already its body. The gateway's handler also checks the header lines
// it parsed (checkHead), so what the scan misses is only answered later,
// never let through.
type headScan struct {
	state uint8
	bad   bool
	last  byte     // the last byte scanned
	n     int      // bytes of the current line so far
	tail  [10]byte // the last bytes of the request line so far
}

const (
	headDone   = iota
	headLead   // empty lines before the request line
	headLine   // the request line
	headFields // the header lines
)

func (h *headScan) scan(b []byte) {
	for len(b) > 0 {
		switch h.state {
		case headDone:
			return
		case headLead:
			i := 0
			for i < len(b) && (b[i] == '\r' || b[i] == '\n') {
				i++
			}
			b = b[i:]
			if len(b) > 0 {
				h.state, h.n = headLine, 0
			}
		case headLine:
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				h.keepTail(b)
				h.n += len(b)
				h.last = b[len(b)-1]
				return
			}
			h.keepTail(b[:i])
			h.n += i
			if i > 0 {
				h.last = b[i-1]
			}
			if !h.requestLine() {
				h.state = headDone
				return
			}
			if h.last != '\r' {
				h.bad, h.state = true, headDone
				return
			}
			h.state, h.n, h.last = headFields, 0, '\n'
			b = b[i+1:]
		case headFields:
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				h.n += len(b)
				h.last = b[len(b)-1]
				return
			}
			h.n += i
			if i > 0 {
				h.last = b[i-1]
			}
			if h.last != '\r' {
				h.bad, h.state = true, headDone
				return
			}
			if h.n == 1 {
				h.state = headDone // CRLF CRLF: the end of the head
				return
			}
			h.n, h.last = 0, '\n'
			b = b[i+1:]
		}
	}
}

// keepTail keeps the last bytes of the request line.
func (h *headScan) keepTail(b []byte) {
	if len(b) >= len(h.tail) {
		copy(h.tail[:], b[len(b)-len(h.tail):])
		return
	}
	copy(h.tail[:], h.tail[len(b):])
	copy(h.tail[len(h.tail)-len(b):], b)
}

// requestLine reports whether the line just scanned ends like a request
// line: " HTTP/d.d", before an optional CR.
func (h *headScan) requestLine() bool {
	t := h.tail[:]
	n := min(h.n, len(t))
	t = t[len(t)-n:]
	if len(t) > 0 && t[len(t)-1] == '\r' {
		t = t[:len(t)-1]
	}
	if len(t) < 9 {
		return false
	}
	t = t[len(t)-9:]
	return string(t[:6]) == " HTTP/" && isDigit(t[6]) && t[7] == '.' && isDigit(t[8])
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// chunkedBody is what the chain and the upstream read of a chunked
// request body: fasthttp's decoder, with the bytes it may take from the
// connection bounded twice. All of the body as sent (data, chunk-size
// lines and their extensions, CRLFs, trailer) counts against
// max_body_size: past it, 413. And one read, which decodes at most one
// chunk-size line, may take from the connection at most len(p) (at most
// one read buffer) plus two read buffers (what fasthttp's buffered
// reader may hold, and the trailer, which must fit in it) plus
// maxChunkLine. A chunk-size line of up to maxChunkLine bytes therefore
// always passes, and one over maxChunkLine plus four read buffers (the
// line may have been partly buffered before the read) always fails the
// request with 400. fasthttp decodes a whole chunk-size line inside one
// read, so the line itself cannot be measured from outside.
type chunkedBody struct {
	c       *conn
	r       io.Reader // fasthttp's decoder
	end     int64     // c.read at which all of max_body_size is used
	readMax int       // the most one read asks of the decoder
	slack   int64     // the bytes one read may take beyond what it returns
}

// maxChunkLine is the chunk-size line (size, extensions) that always
// passes; Go's net/http allows the same.
const maxChunkLine = 4 << 10

// start begins reading a chunked body from r, which may use max bytes of
// the connection.
func (b *chunkedBody) start(c *conn, r io.Reader, max int) {
	*b = chunkedBody{c: c, r: r, end: c.read + int64(max), readMax: c.buf,
		slack: 2*int64(c.buf) + maxChunkLine + 16}
	c.limit = b.end
}

// Read implements io.Reader.
func (b *chunkedBody) Read(p []byte) (int, error) {
	if len(p) > b.readMax {
		p = p[:b.readMax]
	}
	c := b.c
	c.limit = min(b.end, c.read+int64(len(p))+b.slack)
	n, err := b.r.Read(p)
	c.limit = b.end
	if err != nil && err != io.EOF {
		err = b.failure(err)
	}
	return n, err
}

// failure names why the body could not be read, for the status the
// client gets.
func (b *chunkedBody) failure(err error) error {
	var broken fasthttp.ErrBrokenChunk
	switch {
	case b.c.tripped == b.end:
		return upstream.ErrRequestTooLarge
	case b.c.tripped != 0, errors.As(err, &broken):
		return errChunkLine
	}
	return err
}

// status is the status for a body that could not be read: 413 past
// max_body_size, 400 otherwise.
func (b *chunkedBody) status() int {
	if b.c != nil && b.c.tripped == b.end {
		return 413
	}
	return 400
}
