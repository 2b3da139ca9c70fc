package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"

	"github.com/moongate/moongate/core/chain"
)

// maxQueryArgs bounds the query arguments sorted into a key; a request
// with more is not cached (BYPASS).
const maxQueryArgs = 64

// digest hashes what the key of the request is made of: the route, the
// method (HEAD as GET), the host when the route sends it upstream
// (preserve_host), the path, the sorted query (or its allowed arguments),
// the configured headers and cookies, the consumer and, for methods other
// than GET and HEAD, the body. Parts are length-prefixed, so that no two
// requests share a digest by shifting bytes between parts; the digest is a
// SHA-256 (truncated to 128 bits), so that the key shows no value in
// readable form and cannot be made to collide. It also copies the path
// into st. It reports false when the request cannot be keyed.
func (p *Plugin) digest(c *chain.Context, st *state) bool {
	b := st.keybuf[:0]
	if c.Route != nil {
		b = appendStr(b, c.Route.Name)
	} else {
		b = appendStr(b, "")
	}
	m := c.Method()
	get := string(m) == "GET" || string(m) == "HEAD"
	if get {
		b = appendStr(b, "GET")
	} else {
		b = appendString(b, m)
	}
	if c.Route != nil && c.Route.PreserveHost {
		b = appendLower(b, c.Host())
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
	if p.keyConsumer {
		if c.Consumer != nil {
			b = append(b, 1)
			b = appendStr(b, c.Consumer.Name)
		} else {
			b = append(b, 0)
		}
	}
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

func (p *Plugin) allowedArg(a []byte) bool {
	if len(p.queryArgs) == 0 {
		return true
	}
	name := a
	if i := bytes.IndexByte(a, '='); i >= 0 {
		name = a[:i]
	}
	for _, q := range p.queryArgs {
		if bytes.Equal(name, q) {
			return true
		}
	}
	return false
}

func appendStr(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendLower(dst, s []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	for _, c := range s {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
