package upstream

import (
	"iter"
	"net/netip"

	"github.com/moongate/moongate/core/chain"
	"github.com/valyala/fasthttp"
)

// Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are
// never forwarded, in either direction: Connection and the headers it
// names, Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade and Proxy-*.
// fasthttp already keeps Transfer-Encoding and Trailer out of the header
// list it forwards, and re-frames bodies itself.
const (
	hopConnection uint16 = 1 << iota
	hopKeepAlive
	hopTE
	hopTrailer
	hopTransferEncoding
	hopUpgrade
	hopProxy
)

var hopNames = [...]string{"Connection", "Keep-Alive", "TE", "Trailer", "Transfer-Encoding", "Upgrade"}

// hopBit classifies a header name.
func hopBit(k []byte) uint16 {
	switch len(k) {
	case 2:
		if eqFold(k, "TE") {
			return hopTE
		}
	case 7:
		if eqFold(k, "Trailer") {
			return hopTrailer
		}
		if eqFold(k, "Upgrade") {
			return hopUpgrade
		}
	case 10:
		if eqFold(k, "Connection") {
			return hopConnection
		}
		if eqFold(k, "Keep-Alive") {
			return hopKeepAlive
		}
	case 17:
		if eqFold(k, "Transfer-Encoding") {
			return hopTransferEncoding
		}
	}
	if len(k) > 6 && eqFold(k[:6], "Proxy-") {
		return hopProxy
	}
	return 0
}

func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// delConnectionTokens deletes the headers named in a Connection value.
func delConnectionTokens(conn []byte, del func(name []byte)) {
	var buf [256]byte
	v := buf[:0]
	if len(conn) <= len(buf) {
		v = append(v, conn...)
	} else {
		v = append([]byte(nil), conn...)
	}
	for len(v) > 0 {
		i := 0
		for i < len(v) && v[i] != ',' {
			i++
		}
		tok := trimSpace(v[:i])
		if len(tok) > 0 && !eqFold(tok, "close") && !eqFold(tok, "keep-alive") {
			del(tok)
		}
		if i == len(v) {
			break
		}
		v = v[i+1:]
	}
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// The scans below run on every request: they use the concrete header
// types so that their loops stay on the stack. Deleting, which only
// happens when a hop-by-hop header is present, is shared.

func stripRequestHopByHop(h *fasthttp.RequestHeader) {
	var found uint16
	for k := range h.All() {
		found |= hopBit(k)
	}
	if found != 0 {
		delHopByHop(h, found)
	}
}

func stripResponseHopByHop(h *fasthttp.ResponseHeader) {
	var found uint16
	for k := range h.All() {
		found |= hopBit(k)
	}
	if found != 0 {
		delHopByHop(h, found)
	}
}

// hopHeader is what request and response headers have in common.
type hopHeader interface {
	Peek(key string) []byte
	Del(key string)
	DelBytes(key []byte)
	All() iter.Seq2[[]byte, []byte]
}

// delHopByHop deletes the hop-by-hop headers found by a scan.
func delHopByHop(h hopHeader, found uint16) {
	if found&hopConnection != 0 {
		delConnectionTokens(h.Peek("Connection"), h.DelBytes)
	}
	for i, n := range hopNames {
		if found&(1<<i) != 0 {
			h.Del(n)
		}
	}
	for found&hopProxy != 0 {
		// Collect a batch of Proxy-* names (deleting while visiting is not
		// allowed), delete them, and look again if the batch was full.
		var names [8][64]byte
		var lens [8]int
		n := 0
		for k := range h.All() {
			if hopBit(k) == hopProxy && n < len(names) && len(k) <= len(names[0]) {
				lens[n] = copy(names[n][:], k)
				n++
			}
		}
		for i := 0; i < n; i++ {
			h.DelBytes(names[i][:lens[i]])
		}
		if n < len(names) {
			break
		}
	}
}

// prepareRequest turns the client's request into the upstream request, in
// place: hop-by-hop headers go and the X-Forwarded-* headers tell the
// upstream who asked. Client-sent X-Forwarded-* values are kept only from
// trusted proxies. setTarget then sets the Host for each try.
func prepareRequest(c *chain.Context) {
	req := c.Request
	h := &req.Header
	stripRequestHopByHop(h)
	h.ResetConnectionClose()

	remote := c.RemoteAddr()
	trusted := c.Trusted().Contains(remote)
	var ipBuf [48]byte
	ip := appendAddr(ipBuf[:0], remote)

	if xff := h.Peek("X-Forwarded-For"); trusted && len(xff) > 0 {
		b := append(c.Scratch(), xff...)
		b = append(b, ", "...)
		b = append(b, ip...)
		h.SetBytesV("X-Forwarded-For", b)
		c.KeepScratch(b)
	} else {
		h.SetBytesV("X-Forwarded-For", ip)
	}
	if !trusted || len(h.Peek("X-Forwarded-Proto")) == 0 {
		h.Set("X-Forwarded-Proto", c.Scheme())
	}
	if !trusted || len(h.Peek("X-Forwarded-Host")) == 0 {
		h.SetBytesV("X-Forwarded-Host", h.Host())
	}
	h.SetBytesV("X-Real-IP", appendAddr(ipBuf[:0], c.ClientIP()))
}

// setTarget addresses the request to t: the Host is the target's, unless
// the route preserves the client's.
func setTarget(c *chain.Context, t *Target) {
	req := c.Request
	// The scheme is the target's (a request from an HTTPS client to an
	// HTTP target stays coherent for whoever reads the URI).
	req.URI().SetSchemeBytes(t.scheme)
	if c.Route != nil && c.Route.PreserveHost {
		req.UseHostHeader = true
	} else {
		req.UseHostHeader = false
		req.URI().SetHostBytes(t.host)
	}
}

func appendAddr(dst []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(dst, "unknown"...)
	}
	return a.AppendTo(dst)
}

// cleanResponse removes the upstream connection's own headers from the
// response; the client connection's fate is decided by the client's request.
func cleanResponse(h *fasthttp.ResponseHeader, closeAfter bool) {
	stripResponseHopByHop(h)
	if !closeAfter {
		h.ResetConnectionClose()
	}
}
