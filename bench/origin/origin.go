package origin

import (
	"io"
	"sort"
	"strconv"
	"sync/atomic"

	"github.com/valyala/fasthttp"
)

// The paths the origin serves.
const (
	SmallPath   = "/100"     // a SmallSize body
	LargePath   = "/10k"     // a LargeSize body
	MegaPath    = "/1m"      // a MegaSize body, sent from memory
	StreamPath  = "/100m"    // a StreamSize body, generated as it is sent (the origin holds none of it)
	UploadPath  = "/upload"  // reads the request body to its end, answers its length in bytes
	InspectPath = "/inspect" // the request headers received, one "Name: value" a line
	HitsPath    = "/__hits"  // the number of requests served so far (not counted itself)
	BytesPath   = "/__bytes" // the request body bytes UploadPath has read so far (not counted as a request)
)

// The body sizes, in bytes.
const (
	SmallSize  = 100
	LargeSize  = 10 * 1024
	MegaSize   = 1 << 20
	StreamSize = 100 << 20
)

// CacheControl is sent with every response, so that caches store them.
const CacheControl = "public, max-age=300"

// Body returns the body the origin answers with for a size: printable
// bytes in a fixed pattern, so that a check can compare them byte by byte.
func Body(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	if size > 0 {
		b[size-1] = '\n'
	}
	return b
}

// Origin is the benchmark upstream. Its handler is safe for concurrent use.
type Origin struct {
	small, large, mega []byte
	hits, bodyBytes    atomic.Int64
}

// New returns an origin with its bodies built.
func New() *Origin {
	return &Origin{small: Body(SmallSize), large: Body(LargeSize), mega: Body(MegaSize)}
}

// Hits returns the number of requests served, /__hits excluded.
func (o *Origin) Hits() int64 { return o.hits.Load() }

// Handler serves one request.
func (o *Origin) Handler(ctx *fasthttp.RequestCtx) {
	path := ctx.Path()
	switch string(path) {
	case HitsPath:
		ctx.SetContentType("text/plain")
		ctx.SetBody(strconv.AppendInt(nil, o.hits.Load(), 10))
		return
	case BytesPath:
		ctx.SetContentType("text/plain")
		ctx.SetBody(strconv.AppendInt(nil, o.bodyBytes.Load(), 10))
		return
	}
	o.hits.Add(1)
	h := &ctx.Response.Header
	h.SetContentType("text/plain")
	h.Set("Cache-Control", CacheControl)
	switch string(path) {
	case SmallPath:
		ctx.SetBody(o.small)
	case LargePath:
		ctx.SetBody(o.large)
	case MegaPath:
		ctx.SetBody(o.mega)
	case StreamPath:
		ctx.SetBodyStream(NewBodyReader(StreamSize), StreamSize)
	case UploadPath:
		var n int64
		if s := ctx.RequestBodyStream(); s != nil {
			n, _ = io.Copy(io.Discard, s)
		} else {
			n = int64(len(ctx.PostBody()))
		}
		o.bodyBytes.Add(n)
		ctx.SetBody(strconv.AppendInt(nil, n, 10))
	case InspectPath:
		ctx.SetBody(headerLines(&ctx.Request.Header))
	default:
		ctx.SetStatusCode(fasthttp.StatusNotFound)
		ctx.SetBodyString("not found\n")
	}
}

// headerLines lists the request headers, sorted, one "Name: value" a line.
func headerLines(h *fasthttp.RequestHeader) []byte {
	var lines []string
	for k, v := range h.All() {
		lines = append(lines, string(k)+": "+string(v))
	}
	sort.Strings(lines)
	var b []byte
	for _, l := range lines {
		b = append(b, l...)
		b = append(b, '\n')
	}
	return b
}

// Server returns a fasthttp server for the origin: keep-alive, no idle
// limit shorter than a benchmark run, request bodies read as streams (an
// upload of any size goes through UploadPath without being held).
func (o *Origin) Server() *fasthttp.Server {
	return &fasthttp.Server{Handler: o.Handler, Name: "origin", NoDefaultContentType: true, StreamRequestBody: true}
}

// patternBlock is a run of Body's pattern that starts at 'a' and whose
// length is a multiple of 26, copied from by BodyReader.
var patternBlock = func() []byte {
	b := make([]byte, 26*1260) // 32 760 bytes
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}()

// BodyReader yields the bytes of Body(size) without holding them: what a
// streamed body is made of.
type BodyReader struct {
	off, size int64
}

// NewBodyReader returns a reader of Body(size)'s bytes.
func NewBodyReader(size int64) *BodyReader { return &BodyReader{size: size} }

func (r *BodyReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && r.off < r.size {
		start := int(r.off % 26)
		c := copy(p[n:], patternBlock[start:])
		c = int(min(int64(c), r.size-r.off))
		n += c
		r.off += int64(c)
	}
	if r.off == r.size {
		p[n-1] = '\n'
	}
	return n, nil
}
