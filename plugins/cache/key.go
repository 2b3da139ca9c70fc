package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/moongate/moongate/core/httpbytes"
	"github.com/moongate/moongate/core/plugin"
)

// maxQueryArgs bounds the query arguments sorted into a key; a request
// with more is not cached (BYPASS).
const maxQueryArgs = 64

// digest hashes what the key of the request is made of: the route, the
// method (HEAD as GET), the origin the upstream is told about (scheme and
// host, unless key_host = false), the path, the sorted query (or its
// allowed arguments), the configured headers and cookies, who is asking
// (with or without credentials, the anonymous consumer, the consumer with
// key_consumer), what the steps before decided (the upstream and target,
// the key parts they added, the key_ctx values) and, for methods other
// than GET and HEAD, the body. Parts
// are length-prefixed, so that no two requests share a digest by shifting
// bytes between parts; the digest is a SHA-256 (truncated to 128 bits), so
// that the key shows no value in readable form and cannot be made to
// collide. It also copies the path into st, and sets st.hadAuth and
// st.perConsumer. It reports false when the request cannot be keyed.
func (p *Plugin) digest(c *plugin.Context, st *state) bool {
	b := appendStr(st.keybuf[:0], c.RouteName())
	m := c.Method()
	get := string(m) == "GET" || string(m) == "HEAD"
	if get {
		b = appendStr(b, "GET")
	} else {
		b = appendString(b, m)
	}
	if p.keyHost {
		b = appendOrigin(b, c)
	} else {
		b = appendString(b, nil)
	}
	path := c.Path()
	st.path = append(st.path[:0], path...)
	b = appendString(b, path)
	if !p.ignoreQuery {
		var ok bool
		if b, ok = p.appendQuery(st, b, c.Request.URI().QueryString()); !ok {
			st.keybuf = b
			return false
		}
	}
	for _, h := range p.keyHeaders {
		b = appendString(b, c.Request.Header.Peek(h))
	}
	for _, ck := range p.keyCookies {
		b = appendString(b, c.Request.Header.Cookie(ck))
	}
	b = p.appendIdentity(b, c, st)
	b = p.appendSteps(b, c, st)
	if !get {
		body, streamed := c.RequestBody()
		if streamed {
			st.keybuf = b
			return false // a body too large to hold cannot be part of a key
		}
		b = appendString(b, body)
	}
	sum := sha256.Sum256(b)
	copy(st.digest[:], sum[:16])
	st.keybuf = b
	return true
}

// appendQuery appends the query's arguments ("name=value" as sent),
// sorted, keeping only the allowed ones when an allow-list is set.
func (p *Plugin) appendQuery(st *state, b, q []byte) ([]byte, bool) {
	args := st.args[:0]
	for len(q) > 0 {
		i := bytes.IndexByte(q, '&')
		if i < 0 {
			i = len(q)
		}
		a := q[:i]
		if len(a) > 0 && p.allowedArg(a) {
			if len(args) == maxQueryArgs {
				return b, false
			}
			args = append(args, a)
		}
		if i == len(q) {
			break
		}
		q = q[i+1:]
	}
	st.args = args
	n := len(args)
	// insertion sort: few arguments, no allocation
	for i := 1; i < n; i++ {
		for j := i; j > 0 && bytes.Compare(args[j], args[j-1]) < 0; j-- {
			args[j], args[j-1] = args[j-1], args[j]
		}
	}
	b = binary.AppendUvarint(b, uint64(n))
	for i := 0; i < n; i++ {
		b = appendString(b, args[i])
	}
	return b, true
}

func appendStr(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendLower(dst, s []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return httpbytes.AppendLower(dst, s)
}

// appendIdentity appends who is asking. Requests with credentials (an
// Authorization header, or a consumer an auth step authenticated) and
// requests without never share an entry: an anonymous answer is not
// served to a signed-in user, nor the other way round. The anonymous
// consumer's name is part of the key (it reaches the upstream as the
// consumer header); an authenticated consumer's name is with
// key_consumer, and then the request's entries are its own
// (st.perConsumer), which lets store keep responses to credentials.
func (p *Plugin) appendIdentity(b []byte, c *plugin.Context, st *state) []byte {
	cons := c.Consumer
	st.consumer = cons
	if cons != nil && !cons.Anonymous {
		st.hadAuth = true
	}
	if st.hadAuth {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	switch {
	case cons == nil:
		return append(b, 0)
	case cons.Anonymous:
		b = append(b, 1)
	case p.keyConsumer:
		st.perConsumer = true
		b = append(b, 2)
	default:
		return append(b, 0)
	}
	return appendStr(b, cons.Name)
}

// appendOrigin appends the scheme and host that reach the upstream and may
// shape its answer (absolute links, redirects, virtual hosts): the
// connection's scheme and the Host header (sent as X-Forwarded-Host, and
// as Host with preserve_host); from a trusted proxy, also its
// X-Forwarded-Proto and X-Forwarded-Host, which go upstream as sent.
// Hosts count in lower case and without their scheme's default port, so
// that the spellings of a host share its entries.
func appendOrigin(b []byte, c *plugin.Context) []byte {
	h := &c.Request.Header
	https := c.IsTLS()
	var xfp, xfh []byte
	if c.Trusted().Contains(c.RemoteAddr()) {
		// Kept by the upstream step when the first line is not empty
		// (then every line goes upstream), replaced otherwise.
		xfp, xfh = h.Peek("X-Forwarded-Proto"), h.Peek("X-Forwarded-Host")
	}
	if len(xfp) > 0 {
		https = httpbytes.EqualFold(httpbytes.TrimOWS(xfp), "https")
		lines := h.PeekAll("X-Forwarded-Proto")
		b = binary.AppendUvarint(b, uint64(len(lines)))
		for _, v := range lines {
			b = appendLower(b, httpbytes.TrimOWS(v))
		}
	} else {
		b = binary.AppendUvarint(b, 0)
		if https {
			b = append(b, 's')
		} else {
			b = append(b, 'p')
		}
	}
	b = appendHost(b, h.Host(), https)
	if len(xfh) == 0 {
		return binary.AppendUvarint(b, 0)
	}
	lines := h.PeekAll("X-Forwarded-Host")
	b = binary.AppendUvarint(b, uint64(len(lines)))
	for _, v := range lines {
		b = appendHost(b, httpbytes.TrimOWS(v), https)
	}
	return b
}

// appendHost appends host in lower case, without the scheme's default
// port (":80", ":443") or an empty one (RFC 3986 §6.2.3).
func appendHost(dst, host []byte, https bool) []byte {
	if i := httpbytes.PortColon(host); i >= 0 {
		port := string(host[i+1:])
		if port == "" || (port == "80" && !https) || (port == "443" && https) {
			host = host[:i]
		}
	}
	return appendLower(dst, host)
}

// appendSteps appends what the steps before the cache step decided about
// the request: the upstream and target it goes to (a script may send it
// to a canary), the key parts they added (Context.AddCacheKey,
// gw.cache_key.add) and the per-request values named in key_ctx. It
// records the first three in st, so that store can tell a step after the
// cache step changed them.
func (p *Plugin) appendSteps(b []byte, c *plugin.Context, st *state) []byte {
	st.upstream, st.target = c.UpstreamName(), c.Target()
	if !c.Rerouted() {
		b = append(b, 0) // the route's own upstream (the route is in the key)
	} else {
		b = append(b, 1)
		b = appendStr(b, st.upstream)
		b = appendStr(b, st.target)
	}
	parts := c.CacheKey()
	st.keyParts = len(parts)
	b = appendString(b, parts)
	for _, name := range p.keyCtx {
		b = appendValue(b, c.Value(name))
	}
	return b
}

// appendValue appends a per-request value, typed, so that no two values
// (nil and "", 1 and "1", true and "true") share a key.
func appendValue(b []byte, v any) []byte {
	var num [32]byte
	switch x := v.(type) {
	case nil:
		return append(b, 0)
	case string:
		return appendStr(append(b, 1), x)
	case []byte:
		return appendString(append(b, 1), x)
	case bool:
		if x {
			return append(b, 2, 1)
		}
		return append(b, 2, 0)
	case int:
		return appendString(append(b, 3), strconv.AppendInt(num[:0], int64(x), 10))
	case int64:
		return appendString(append(b, 3), strconv.AppendInt(num[:0], x, 10))
	case float64:
		// Lua numbers are float64: 1 and 1.0 are the same number.
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return appendString(append(b, 3), strconv.AppendInt(num[:0], int64(x), 10))
		}
		return appendString(append(b, 3), strconv.AppendFloat(num[:0], x, 'g', -1, 64))
	}
	// Tables and other values, printed (fmt sorts map keys).
	return appendString(append(b, 4), fmt.Append(nil, v))
}
