package origin

import (
	"sort"
	"strconv"
	"sync/atomic"

	"github.com/valyala/fasthttp"
)

// The paths the origin serves.
const (
	SmallPath   = "/100"     // a SmallSize body
	LargePath   = "/10k"     // a LargeSize body
	InspectPath = "/inspect" // the request headers received, one "Name: value" a line
	HitsPath    = "/__hits"  // the number of requests served so far (not counted itself)
)

// The body sizes, in bytes.
const (
	SmallSize = 100
	LargeSize = 10 * 1024
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
	small, large []byte
	hits         atomic.Int64
}

// New returns an origin with its bodies built.
func New() *Origin {
	return &Origin{small: Body(SmallSize), large: Body(LargeSize)}
}

// Hits returns the number of requests served, /__hits excluded.
func (o *Origin) Hits() int64 { return o.hits.Load() }

// Handler serves one request.
func (o *Origin) Handler(ctx *fasthttp.RequestCtx) {
	path := ctx.Path()
	if string(path) == HitsPath {
		ctx.SetContentType("text/plain")
		ctx.SetBody(strconv.AppendInt(nil, o.hits.Load(), 10))
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
// limit shorter than a benchmark run.
func (o *Origin) Server() *fasthttp.Server {
	return &fasthttp.Server{Handler: o.Handler, Name: "origin", NoDefaultContentType: true}
}
