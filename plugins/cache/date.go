package cache

import (
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// A response served from the cache keeps the Date its origin gave it
// (RFC 9110 §6.6.1; Age says how long it has been stored). fasthttp's
// server writes its own Date on every response and drops any Date set
// through the header API, unless the server is configured with
// NoDefaultDate, a setting a response header takes from its server and
// loses on Reset. So:
//   - ownDate is an empty response header with that setting, taken once
//     from a private server (the only way fasthttp offers to make one),
//     and copied into the response being served: the server then writes
//     the Date field the response carries, and no other;
//   - the Date field itself can only be had by parsing: setDate parses a
//     header block holding it.
// If fasthttp ever stops handing the setting over, hits carry the
// server's Date again (TestOriginDateKeptOnHits fails), nothing worse.

var ownDate = sync.OnceValue(func() *fasthttp.ResponseHeader {
	h := new(fasthttp.ResponseHeader)
	s := &fasthttp.Server{
		NoDefaultDate: true, NoDefaultContentType: true, NoDefaultServerHeader: true,
		Handler: func(ctx *fasthttp.RequestCtx) { ctx.Response.Header.CopyTo(h) },
	}
	_ = s.ServeConn(&oneRequest{r: strings.NewReader("GET / HTTP/1.1\r\nHost: cache\r\n\r\n")})
	return h
})

// setDate makes date the Date field of resp, an empty (just reset)
// response: it must be the first thing written into it.
func setDate(st *state, resp *fasthttp.Response, date []byte) {
	ownDate().CopyTo(&resp.Header)
	b := append(st.dateBuf[:0], "HTTP/1.1 200 OK\r\nDate: "...)
	b = append(b, date...)
	b = append(b, "\r\n\r\n"...)
	st.dateBuf = b
	st.dateSrc.Reset(b)
	st.dateReader.Reset(&st.dateSrc)
	if err := resp.Header.Read(st.dateReader); err != nil {
		// A stored Date is one line of a header fasthttp parsed: this
		// cannot fail, but would leave the server's Date.
		resp.Header.Reset()
		return
	}
	// A header block without Content-Length reads as a body delimited by
	// the connection's end: the body set later has its own length.
	resp.Header.ResetConnectionClose()
}

// oneRequest is a connection that carries one request and takes any
// answer.
type oneRequest struct{ r io.Reader }

func (c *oneRequest) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *oneRequest) Write(p []byte) (int, error)      { return len(p), nil }
func (c *oneRequest) Close() error                     { return nil }
func (c *oneRequest) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *oneRequest) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *oneRequest) SetDeadline(time.Time) error      { return nil }
func (c *oneRequest) SetReadDeadline(time.Time) error  { return nil }
func (c *oneRequest) SetWriteDeadline(time.Time) error { return nil }
