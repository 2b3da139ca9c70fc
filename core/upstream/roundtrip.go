package upstream

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http/httputil"
	"sync"
	"time"

	"github.com/moongate/moongate/core/httpbytes"
	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/valyala/bytebufferpool"
	"github.com/valyala/fasthttp"
)

// roundTrip sends c.Request to t over a pooled connection and reads the
// response into c.Response, on the request's own goroutine. The target's
// HostClient serves as the connection pool only: the exchange is driven
// here so that the try's deadline covers exactly the request and the
// response headers, and so that the body can be buffered or streamed once
// the headers are known.
//
// A body is read whole when its Content-Length is at most stream_threshold,
// or, without one (chunked or close-delimited), when it ends within
// stream_threshold, and it is not text/event-stream; otherwise it streams
// to the client as it arrives (streaming reports true: the connection and the target's
// in-flight count are released when the stream is closed).
//
// A request is sent again, on another connection to the same target, only
// when it provably did not reach the target, or when it may be repeated
// (see replayable):
//   - a pooled connection found closed by the target before the request
//     is written (idleCheck) is dropped and another one taken, for any
//     request: nothing was sent (replayable requests skip the check on
//     their first try, and a stale connection costs them a replay);
//   - a write to a pooled connection that fails before the socket took a
//     single byte is replayed once, for any request whose body is not
//     streamed (a streamed body was consumed by the failed write);
//   - a pooled connection that fails after the request was written, with
//     nothing come back (a reset, an end of stream), is replayed once only
//     for replayable requests: the target may have read and executed it.
//
// A connection that ends with nothing come back also tells that the
// target's other idle connections are suspect: the target restarted, or
// dropped them without a word (a reboot, a NAT or firewall that forgot
// them), and a connection that died that way need not look closed to the
// idle check. The target's idle pool is closed, so the replay, and the
// requests that follow, go out on fresh connections instead of on one
// dead connection after another.
//
// Anything else fails the try (502, or 504 past the deadline). The error
// tells whether the request may have reached the target (tryError.sent):
// it did not when no connection could be made.
func (u *Upstream) roundTrip(c *reqctx.Context, t *Target, o options, end time.Time) (streaming bool, err error) {
	hc := t.Client
	req, resp := c.Request, c.Response
	streamedBody := req.IsBodyStream()
	// The idle check costs a system call; a request that is replayed on a
	// stale connection anyway does without it, until its replay.
	check := streamedBody || !replayable(req, o)
	replayed := false
	sent := false // a connection of this try may have carried the request
	for {
		wait := time.Until(end)
		if wait <= 0 {
			return false, classify(fasthttp.ErrTimeout, sent)
		}
		cc, err := hc.AcquireConn(min(o.connectTimeout, wait), req.ConnectionClose())
		if err != nil {
			return false, connectFailed(err, sent)
		}
		conn := cc.Conn()
		tr := tracked(conn)
		reused := tr != nil && tr.used

		if tr != nil {
			err = tr.setDeadline(end, wait) // what a *tls.Conn's SetDeadline does too
		} else {
			err = conn.SetDeadline(end)
		}
		if err != nil {
			hc.CloseConn(cc)
			return false, classify(err, sent)
		}
		if reused && check && tr.idle.peerClosed() {
			// The target closed it while it sat in the pool: nothing
			// was sent, take another one (each closed one is dropped,
			// so this ends with a fresh connection at worst).
			hc.CloseConn(cc)
			continue
		}
		if tr != nil {
			tr.written = 0
		}
		bw := hc.AcquireWriter(conn)
		err = req.Write(bw)
		if err == nil {
			// The flush writes the request's last bytes: on a plain
			// connection, the write then waits for the reply, which
			// saves the read that would find nothing yet.
			if tr != nil && conn == net.Conn(tr) {
				tr.lastWrite = true
			}
			err = bw.Flush()
			if tr != nil {
				tr.lastWrite = false
			}
		}
		hc.ReleaseWriter(bw)
		if err != nil {
			hc.CloseConn(cc)
			written := tr == nil || tr.written > 0
			sent = sent || written
			if staleConn(err) {
				hc.CloseIdleConnections()
				if reused && !replayed && !streamedBody && (!written || replayable(req, o)) {
					replayed, check = true, true
					continue
				}
			}
			return false, classify(err, true)
		}
		sent = true

		br := hc.AcquireReader(conn)
		resp.Reset()
		// The gateway never invents a Content-Type the upstream did not send.
		resp.Header.SetNoDefaultContentType(true)
		if err = readResponseHeader(resp, br); err != nil {
			hc.ReleaseReader(br)
			hc.CloseConn(cc)
			if time.Now().Before(end) && staleConn(err) {
				hc.CloseIdleConnections()
				if reused && !replayed && !streamedBody && replayable(req, o) {
					replayed, check = true, true
					continue
				}
			}
			return false, readFailed(err, end)
		}
		sb, reusable, err := u.readBody(req, resp, br, hc.MaxResponseBodySize, end)
		closeConn := !reusable || req.ConnectionClose() || resp.ConnectionClose()
		if sb == nil {
			// The exchange is over: the connection goes back to the pool,
			// unless it failed or a side asked to close it.
			hc.ReleaseReader(br)
			if err != nil || closeConn {
				hc.CloseConn(cc)
			} else {
				markUsed(tr)
				hc.ReleaseConn(cc)
			}
			return false, err
		}

		// Stream the body: the server writes it to the client after the
		// response phase, reading it from the upstream as it goes.
		sb.conn, sb.idle, sb.t, sb.fc, sb.writeTimeout = conn, u.streamIdle, t, c.Fast, u.writeTimeout
		sb.release = func(discard bool) {
			hc.ReleaseReader(br)
			if discard || closeConn {
				hc.CloseConn(cc)
				return
			}
			markUsed(tr)
			hc.ReleaseConn(cc)
		}
		size := -1
		if sb.fixed {
			size = int(sb.left)
		}
		resp.SetBodyStream(sb, size)
		resp.ImmediateHeaderFlush = true
		return true, nil
	}
}

// readBody reads the body of the response whose header is in resp, from
// br: none for a response that has none (HEAD, 204, 304), the whole body
// when it is short enough (see roundTrip), and otherwise returns the
// stream to read it from (its conn, timeouts and release still to set).
// reusable is false when the body ends with the connection. A failure is
// the try's error: a timeout once end has passed, whatever error hid it.
func (u *Upstream) readBody(req *fasthttp.Request, resp *fasthttp.Response, br *bufio.Reader, maxBody int, end time.Time) (sb *streamBody, reusable bool, err error) {
	status := resp.StatusCode()
	if status < 200 {
		return nil, false, classify(errBadResponse, true)
	}
	if req.Header.IsHead() || status == 204 || status == 304 {
		resp.SkipBody = true
		return nil, true, nil
	}
	cl := resp.Header.ContentLength()
	if cl >= 0 && cl <= u.streamAt && !isEventStream(resp.Header.ContentType()) {
		if err := resp.ReadBody(br, maxBody); err != nil {
			return nil, false, readFailed(err, end)
		}
		return nil, true, nil
	}

	// A chunked or close-delimited body may well be small (servers chunk
	// whatever they did not measure first): read up to stream_threshold
	// of it, and buffer it when it ends by then, so that steps (the
	// cache, scripts) see it whole. Streams meant to be read as they come
	// are never held back (see liveStream).
	var chunked io.Reader
	if cl == -1 {
		chunked = httputil.NewChunkedReader(br)
	}
	reusable = cl != -2 // -2: delimited by the connection's end
	var prefix []byte
	if cl < 0 && !liveStream(&resp.Header) {
		src := io.Reader(br)
		if chunked != nil {
			src = chunked
		}
		whole, head, err := readUpTo(src, u.streamAt)
		if err == nil && whole && chunked != nil {
			err = skipTrailers(br)
		}
		if err != nil {
			return nil, false, readFailed(err, end)
		}
		if whole {
			resp.SetBody(head)
			return nil, reusable, nil
		}
		prefix = head
	}
	sb = &streamBody{br: br, chunked: chunked, prefix: prefix}
	if cl >= 0 {
		sb.left, sb.fixed = int64(cl), true
	}
	return sb, reusable, nil
}

// readFailed is the try's error when the response could not be read
// after the request was sent: a timeout once end has passed, since some
// read errors hide the timeout behind them.
func readFailed(err error, end time.Time) error {
	if !time.Now().Before(end) {
		err = fasthttp.ErrTimeout
	}
	return classify(err, true)
}

// replayable reports whether a request that may have reached the target
// may be sent again: its method is idempotent (RFC 9110 §9.2.2: GET,
// HEAD, OPTIONS, TRACE, PUT, DELETE), or the route declared its other
// methods safe to repeat (retry_non_idempotent). An Idempotency-Key
// header does not count: the gateway cannot know that the target honours
// it, and the client may have sent it to an upstream that ignores it.
func replayable(req *fasthttp.Request, o options) bool {
	return o.anyMethod || idempotent(&req.Header)
}

// markUsed notes that a connection carried a whole exchange: a later
// failure on it may be a stale keep-alive connection.
func markUsed(tr *trackedConn) {
	if tr != nil {
		tr.used = true
	}
}

// readResponseHeader reads the status line and headers, skipping interim
// (1xx) responses other than 101.
func readResponseHeader(resp *fasthttp.Response, br *bufio.Reader) error {
	for n := 0; ; n++ {
		if err := readHeader(resp, br); err != nil {
			if errors.Is(err, io.EOF) {
				return errNothingRead
			}
			var nr fasthttp.ErrNothingRead
			if errors.As(err, &nr) {
				return errNothingRead
			}
			return err
		}
		s := resp.StatusCode()
		if s < 100 || s > 199 || s == 101 {
			return nil
		}
		if n >= 8 {
			return errBadResponse
		}
	}
}

// readUpTo reads r until it ends or more than limit bytes came: whole
// reports that it ended; head is what was read (a fresh slice, owned by
// the caller).
func readUpTo(r io.Reader, limit int) (whole bool, head []byte, err error) {
	bb := bytebufferpool.Get()
	defer bytebufferpool.Put(bb)
	_, err = bb.ReadFrom(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return false, nil, err
	}
	head = append([]byte(nil), bb.B...)
	return len(head) <= limit, head, nil
}

// skipTrailers reads the trailer section of a chunked body, which ends
// with an empty line; trailers are not forwarded.
func skipTrailers(br *bufio.Reader) error {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return io.ErrUnexpectedEOF
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return nil
		}
	}
}

// liveStream reports whether a response without a length is meant to be
// read as it arrives, so that holding it back would break it: server-sent
// events, newline-delimited JSON and other "stream" media types, and
// responses marked "X-Accel-Buffering: no" (the convention nginx honours).
func liveStream(h *fasthttp.ResponseHeader) bool {
	ct := h.ContentType()
	if isEventStream(ct) || bytes.Contains(ct, []byte("ndjson")) || bytes.Contains(ct, []byte("jsonl")) ||
		bytes.Contains(ct, []byte("stream")) {
		return true
	}
	return httpbytes.EqualFold(h.Peek("X-Accel-Buffering"), "no")
}

func isEventStream(ct []byte) bool { return httpbytes.HasPrefixFold(ct, "text/event-stream") }

// streamBody is a response body read from the upstream connection while
// the server writes it to the client. Every read pushes the upstream read
// deadline (stream_idle_timeout) and the client write deadline (the
// server's write_timeout) forward, so a long stream that keeps moving is
// not cut, and a stalled one is. Close, called by the server when the
// response is written or dropped, gives the connection back to the pool
// if the body was read to its end, and closes it otherwise.
type streamBody struct {
	prefix       []byte // read ahead while deciding to stream; served first
	conn         net.Conn
	br           *bufio.Reader
	chunked      io.Reader
	fixed        bool
	left         int64
	eof          bool
	idle         time.Duration
	writeTimeout time.Duration
	fc           *fasthttp.RequestCtx
	t            *Target
	release      func(discard bool)
	once         sync.Once
	taken        bool // a step took it over: Close is its body's (Take)
}

// Read implements io.Reader.
func (s *streamBody) Read(p []byte) (int, error) {
	if len(s.prefix) > 0 {
		n := copy(p, s.prefix)
		s.prefix = s.prefix[n:]
		return n, nil
	}
	if s.eof {
		return 0, io.EOF
	}
	now := time.Now()
	_ = s.conn.SetReadDeadline(now.Add(s.idle))
	if s.fc != nil && s.writeTimeout > 0 {
		_ = s.fc.SetWriteDeadline(now.Add(s.writeTimeout))
	}
	var n int
	var err error
	switch {
	case s.fixed:
		if s.left == 0 {
			s.eof = true
			return 0, io.EOF
		}
		if int64(len(p)) > s.left {
			p = p[:s.left]
		}
		n, err = s.br.Read(p)
		s.left -= int64(n)
		if s.left == 0 {
			s.eof = true
			if err == nil {
				err = io.EOF
			}
		} else if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
	case s.chunked != nil:
		n, err = s.chunked.Read(p)
		if errors.Is(err, io.EOF) {
			if skipTrailers(s.br) != nil {
				return n, io.ErrUnexpectedEOF
			}
			s.eof = true
		}
	default:
		n, err = s.br.Read(p)
		if errors.Is(err, io.EOF) {
			s.eof = true
		}
	}
	return n, err
}

// streamChunk is the size of the reads and writes that copy a streamed
// body to the client (WriteTo): the server's write buffer is 4 KB, and a
// copy through it costs a write syscall per 4 KB.
const streamChunk = 64 << 10

var streamBufs = sync.Pool{New: func() any { return new([streamChunk]byte) }}

// WriteTo implements io.WriterTo, which fasthttp uses to copy a body of
// known length to the client: the body goes out in pieces of up to
// streamChunk (a read from the upstream straight into the piece when
// nothing is buffered, then one write), not of the server's 4 KB write
// buffer. Each piece is read with Read, its deadlines and end of body
// included.
func (s *streamBody) WriteTo(w io.Writer) (int64, error) {
	buf := streamBufs.Get().(*[streamChunk]byte)
	defer streamBufs.Put(buf)
	var n int64
	for {
		nr, err := s.Read(buf[:])
		if nr > 0 {
			nw, werr := w.Write(buf[:nr])
			n += int64(nw)
			if werr != nil {
				return n, werr
			}
			if nw < nr {
				return n, io.ErrShortWrite
			}
		}
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// Take hands the body over to a step that wraps it in a stream of its own
// (plugin.Context.TakeResponseStream): from then on the Close the server
// calls when the response's stream is replaced does nothing, and the
// returned body's Close gives the connection back. A body is taken once.
func (s *streamBody) Take() io.ReadCloser {
	if s.taken {
		return nil
	}
	s.taken = true
	return takenBody{s}
}

// takenBody is a streamBody taken over by a step.
type takenBody struct{ s *streamBody }

func (t takenBody) Read(p []byte) (int, error) { return t.s.Read(p) }

func (t takenBody) Close() error { return t.s.close() }

// Close implements io.Closer.
func (s *streamBody) Close() error {
	if s.taken {
		return nil
	}
	return s.close()
}

func (s *streamBody) close() error {
	s.once.Do(func() {
		s.release(!s.eof)
		s.t.active.Add(-1)
	})
	return nil
}
