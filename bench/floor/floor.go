package floor

import (
	"net"
	"time"

	"github.com/valyala/fasthttp"
)

// Proxy forwards every request to one upstream address. It is safe for
// concurrent use.
type Proxy struct {
	client *fasthttp.HostClient
	host   []byte
}

// New returns a proxy to upstream ("127.0.0.1:8081").
func New(upstream string) *Proxy {
	return &Proxy{
		client: &fasthttp.HostClient{
			Addr:                     upstream,
			NoDefaultUserAgentHeader: true,
			MaxConns:                 1024,
			ReadTimeout:              30 * time.Second,
			WriteTimeout:             30 * time.Second,
		},
		host: []byte(upstream),
	}
}

// Handler forwards one request and writes the upstream's answer, or 502.
// It sends the same forwarding headers as moongate (X-Forwarded-For,
// X-Real-IP, X-Forwarded-Proto, X-Forwarded-Host) and removes the
// Connection header in both directions.
func (p *Proxy) Handler(ctx *fasthttp.RequestCtx) {
	req := &ctx.Request
	h := &req.Header
	closeAfter := h.ConnectionClose()
	h.Del("Connection")

	var buf [48]byte
	ip := buf[:0]
	if a, ok := ctx.RemoteAddr().(*net.TCPAddr); ok {
		ip = a.AddrPort().Addr().Unmap().AppendTo(ip)
	}
	h.SetBytesV("X-Forwarded-For", ip)
	h.SetBytesV("X-Real-IP", ip)
	h.Set("X-Forwarded-Proto", "http")
	h.SetBytesV("X-Forwarded-Host", h.Host())
	req.UseHostHeader = false
	req.URI().SetHostBytes(p.host)

	if err := p.client.Do(req, &ctx.Response); err != nil {
		ctx.Response.Reset()
		ctx.Error("bad gateway\n", fasthttp.StatusBadGateway)
		return
	}
	ctx.Response.Header.Del("Connection")
	if closeAfter {
		ctx.SetConnectionClose()
	}
}

// Server returns a fasthttp server running the proxy.
func (p *Proxy) Server() *fasthttp.Server {
	return &fasthttp.Server{Handler: p.Handler, Name: "floor", NoDefaultContentType: true}
}
