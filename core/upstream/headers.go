package upstream

import (
	"iter"
	"net/netip"

	"github.com/moongate/moongate/core/httpbytes"
	"github.com/moongate/moongate/core/internal/reqctx"
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
		if httpbytes.EqualFold(k, "TE") {
			return hopTE
		}
	case 7:
		if httpbytes.EqualFold(k, "Trailer") {
			return hopTrailer
		}
		if httpbytes.EqualFold(k, "Upgrade") {
			return hopUpgrade
		}
	case 10:
		if httpbytes.EqualFold(k, "Connection") {
			return hopConnection
		}
		if httpbytes.EqualFold(k, "Keep-Alive") {
			return hopKeepAlive
		}
	case 17:
		if httpbytes.EqualFold(k, "Transfer-Encoding") {
			return hopTransferEncoding
		}
	}
	if len(k) > 6 && httpbytes.EqualFold(k[:6], "Proxy-") {
		return hopProxy
	}
	return 0
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
		var tok []byte
		tok, v = httpbytes.NextElement(v)
		if len(tok) > 0 && !httpbytes.EqualFold(tok, "close") && !httpbytes.EqualFold(tok, "keep-alive") {
			del(tok)
		}
	}
}

// The scans below run on every request: they use the concrete header
// types so that their loops stay on the stack. Deleting, which only
// happens when a hop-by-hop header is present, is shared.

// PrepareClientHeaders readies the client's request headers, once, after
// routing and before the chain runs:
//
//   - The lines of a repeated X-Forwarded-For, X-Forwarded-Proto,
//     X-Forwarded-Host or X-Real-IP are joined into one, in order (RFC
//     9110 §5.3), so that the client address and the values sent upstream
//     are read from the list the proxies wrote, and so that the gateway's
//     value replaces the only line. This comes first: fasthttp's Del moves
//     the last header line into the place of the deleted one, so once a
//     header is deleted, repeated lines are no longer in received order.
//   - The client's hop-by-hop headers go: every Connection line and the
//     headers its tokens name, Keep-Alive, TE, Trailer, Transfer-Encoding,
//     Upgrade and Proxy-*. What the chain and the gateway add afterwards
//     (identity, request ID, X-Forwarded-*, X-Real-IP, any header a step
//     sets, hop-by-hop or not) therefore reaches the upstream whatever the
//     client's Connection header names.
//
// Connection tokens naming Host, Content-Length or a forwarding header
// (X-Forwarded-For, -Proto, -Host, X-Real-IP, Forwarded) are ignored:
// those are end-to-end (RFC 9110 §7.6.1 forbids them as connection
// options), and honouring them would let a client behind a trusted proxy
// delete what the proxy added (Apache's CVE-2022-31813). A "Connection:
// close" stays known to ConnectionClose, so the client connection ends
// after the response; on a websocket route a WebSocket handshake keeps
// "Connection: Upgrade" and "Upgrade: websocket" for the target.
func PrepareClientHeaders(h *fasthttp.RequestHeader, websocket bool) {
	var hop uint16
	var fwd, repeated uint8
	for k := range h.All() {
		hop |= hopBit(k)
		if b := forwardedBit(k); b != 0 {
			repeated |= fwd & b
			fwd |= b
		}
	}
	if repeated != 0 {
		joinLines(h, repeated)
	}
	if hop != 0 {
		stripHopByHop(h, hop, websocket)
	}
}

// The forwarding headers whose repeated lines are joined, and their
// canonical names, which prepareRequest sets without normalizing them.
var (
	forwardedNames = [...]string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Real-Ip"}
	keyXFF         = []byte(forwardedNames[0])
	keyXFP         = []byte(forwardedNames[1])
	keyXFH         = []byte(forwardedNames[2])
	keyRealIP      = []byte(forwardedNames[3])
)

func forwardedBit(k []byte) uint8 {
	switch len(k) {
	case 9, 15, 16, 17:
		for i, n := range forwardedNames {
			if httpbytes.EqualFold(k, n) {
				return 1 << i
			}
		}
	}
	return 0
}

// joinLines replaces the lines of each repeated forwarding header by one
// line holding their values in order, separated by ", ". Every value is
// read before the first Del, which reorders lines.
func joinLines(h *fasthttp.RequestHeader, repeated uint8) {
	var buf [512]byte
	v := buf[:0]
	var ends [len(forwardedNames)]int
	for i, name := range forwardedNames {
		if repeated&(1<<i) != 0 {
			for j, line := range h.PeekAll(name) {
				if j > 0 {
					v = append(v, ", "...)
				}
				v = append(v, line...)
			}
		}
		ends[i] = len(v)
	}
	start := 0
	for i, name := range forwardedNames {
		if repeated&(1<<i) != 0 {
			h.Del(name)
			h.SetBytesV(name, v[start:ends[i]])
		}
		start = ends[i]
	}
}

// stripHopByHop removes the hop-by-hop headers a scan found (see
// PrepareClientHeaders).
func stripHopByHop(h *fasthttp.RequestHeader, found uint16, websocket bool) {
	closeAfter := h.ConnectionClose()
	upgrade := false
	if found&hopConnection != 0 {
		// Every line counts. The tokens are copied first, since deleting
		// headers moves the values they point into.
		var buf [256]byte
		conn := buf[:0]
		for k, v := range h.All() {
			if hopBit(k) == hopConnection {
				conn = append(append(conn, v...), ',')
			}
		}
		upgrade = websocket && httpbytes.HasToken(conn, "upgrade") && httpbytes.EqualFold(httpbytes.TrimOWS(h.Peek("Upgrade")), "websocket")
		for rest := conn; len(rest) > 0; {
			var tok []byte
			tok, rest = httpbytes.NextElement(rest)
			if len(tok) > 0 && !httpbytes.EqualFold(tok, "close") && !httpbytes.EqualFold(tok, "keep-alive") && !endToEnd(tok) {
				h.DelBytes(tok)
			}
		}
		h.Del("Connection")
	}
	delHopByHop(h, found&^hopConnection)
	if upgrade {
		restoreUpgrade(h)
	}
	if closeAfter {
		h.SetConnectionClose()
	}
}

// endToEnd reports whether a Connection token names a header that must
// not be removed as a connection option.
func endToEnd(tok []byte) bool {
	for _, n := range endToEndNames {
		if httpbytes.EqualFold(tok, n) {
			return true
		}
	}
	return false
}

var endToEndNames = [...]string{"Host", "Content-Length", "X-Forwarded-For", "X-Forwarded-Proto",
	"X-Forwarded-Host", "X-Real-IP", "Forwarded"}

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

// prepareRequest turns the request into the upstream request, in place:
// X-Forwarded-For, -Proto, -Host and X-Real-IP tell the upstream who
// asked (X-Forwarded-Host only when there is a host to tell). Before the
// chain ran, PrepareClientHeaders removed the client's
// hop-by-hop headers (a header a step set goes as set) and joined the
// lines of each of these four headers into one, which is replaced here:
// from a peer that is not a trusted proxy, by the gateway's values; from
// a trusted proxy, X-Forwarded-For gets the peer appended, and
// X-Forwarded-Proto and -Host, which hold one value, keep the rightmost
// element of their list (what the nearest proxy wrote). X-Real-IP is
// always the client address (ClientIP). setTarget then sets the Host for
// each try.
func prepareRequest(c *reqctx.Context) {
	h := &c.Request.Header
	h.ResetConnectionClose()

	client := c.ClientIP()
	remote := c.RemoteAddr()
	trusted := c.Trusted().Contains(remote)
	b := c.Scratch()
	if trusted {
		for _, line := range h.PeekAll("X-Forwarded-For") {
			if line = httpbytes.TrimOWS(line); len(line) > 0 {
				b = append(append(b, line...), ", "...)
			}
		}
	}
	b = appendAddr(b, remote)
	xff := len(b)
	if trusted {
		b = append(b, lastElement(h.PeekAll("X-Forwarded-Proto"))...)
	}
	if len(b) == xff {
		b = append(b, c.Scheme()...)
	}
	proto := len(b)
	if trusted {
		b = append(b, lastElement(h.PeekAll("X-Forwarded-Host"))...)
	}
	if len(b) == proto {
		b = append(b, h.Host()...)
	}
	host := len(b)
	b = appendAddr(b, client)
	h.SetCanonical(keyXFF, b[:xff])
	h.SetCanonical(keyXFP, b[xff:proto])
	if host > proto {
		h.SetCanonical(keyXFH, b[proto:host])
	} else {
		// No host to tell (an HTTP/1.0 request without Host): an empty
		// X-Forwarded-Host would claim one.
		h.DelBytes(keyXFH)
	}
	h.SetCanonical(keyRealIP, b[host:])
	c.KeepScratch(b)
}

// lastElement returns the rightmost non-empty element of a header's lines
// taken as one comma-separated list, nil if there is none.
func lastElement(lines [][]byte) []byte {
	for i := len(lines) - 1; i >= 0; i-- {
		l := lines[i]
		for len(l) > 0 {
			j := len(l) - 1
			for j >= 0 && l[j] != ',' {
				j--
			}
			if e := httpbytes.TrimOWS(l[j+1:]); len(e) > 0 {
				return e
			}
			if j < 0 {
				break
			}
			l = l[:j]
		}
	}
	return nil
}

// setTarget addresses the request to t: the Host is the target's, unless
// the route preserves the client's (and the client sent one: an HTTP/1.0
// request may have none, and HTTP/1.1 requires one).
func setTarget(c *reqctx.Context, t *Target, preserveHost bool) {
	req := c.Request
	// The scheme is the target's (a request from an HTTPS client to an
	// HTTP target stays coherent for whoever reads the URI).
	req.URI().SetSchemeBytes(t.scheme)
	if preserveHost {
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
