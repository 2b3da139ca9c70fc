package upstream

import (
	"errors"
	"io"

	"github.com/valyala/bytebufferpool"
	"github.com/valyala/fasthttp"
)

// errRequestTooLarge is returned by a streamed request body that goes past
// max_body_size; the client gets 413.
var errRequestTooLarge = errors.New("request body larger than max_body_size")

// ErrRequestTooLarge, returned by the reader under a RequestBody, ends
// the request with 413 (the gateway's chunked body reader returns it when
// a body's framing uses up max_body_size).
var ErrRequestTooLarge = errRequestTooLarge

// ErrMalformedRequestBody, returned by the reader under a RequestBody,
// ends the request with 400: the client's body cannot be read (a broken
// or oversized chunk-size line).
var ErrMalformedRequestBody = errors.New("malformed request body")

// RequestBody is a request body streamed to the upstream as it arrives
// from the client: bodies above the server's buffer_body_size. It counts
// what was read, so that a request whose body was (even partly) sent is
// never sent again, and stops with an error past the size limit.
type RequestBody struct {
	prefix []byte
	r      io.Reader
	limit  int64
	read   int64
	tooBig bool
}

// Read implements io.Reader.
func (b *RequestBody) Read(p []byte) (int, error) {
	if b.tooBig {
		return 0, errRequestTooLarge
	}
	var n int
	var err error
	if len(b.prefix) > 0 {
		n = copy(p, b.prefix)
		b.prefix = b.prefix[n:]
	} else {
		n, err = b.r.Read(p)
	}
	b.read += int64(n)
	if b.limit > 0 && b.read > b.limit {
		b.tooBig = true
		return n, errRequestTooLarge
	}
	return n, err
}

// Limit lowers the most bytes the body may have (a route's own limit).
func (b *RequestBody) Limit(n int64) {
	if b.limit <= 0 || n < b.limit {
		b.limit = n
	}
}

// BytesRead returns how many bytes of the body were read.
func (b *RequestBody) BytesRead() int64 { return b.read }

// Consumed reports whether any of the body was read.
func (b *RequestBody) Consumed() bool { return b.read > 0 }

// TooLarge reports whether the body went past the size limit.
func (b *RequestBody) TooLarge() bool { return b.tooBig }

// PrepareRequestBody makes a request body read by a server with
// StreamRequestBody ready for the chain: a body of at most buffer bytes is
// read whole into memory (steps see it in req.Body()); a larger one, or a
// chunked one that turns out larger, is left to stream to the upstream
// through a RequestBody that enforces max. It returns 413 when the
// announced size is over max, 400 when the body cannot be read, 0 when
// the request may go on.
func PrepareRequestBody(req *fasthttp.Request, max, buffer int) int {
	if !req.IsBodyStream() {
		return 0
	}
	cl := req.Header.ContentLength()
	if max > 0 && cl > max {
		return 413
	}
	s := req.BodyStream()
	if cl == 0 {
		req.ResetBody()
		return 0
	}
	if cl > buffer {
		req.SetBodyStream(&RequestBody{r: s, limit: int64(max)}, cl)
		return 0
	}
	// Known small size, or chunked: read up to buffer+1 bytes.
	bb := bytebufferpool.Get()
	defer bytebufferpool.Put(bb)
	_, err := bb.ReadFrom(io.LimitReader(s, int64(buffer)+1))
	if err != nil {
		return 400
	}
	if len(bb.B) <= buffer {
		req.SetBody(bb.B)
		return 0
	}
	if max > 0 && len(bb.B) > max {
		return 413
	}
	prefix := append([]byte(nil), bb.B...)
	req.SetBodyStream(&RequestBody{prefix: prefix, r: s, limit: int64(max)}, -1)
	return 0
}
