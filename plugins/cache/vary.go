package cache

import (
	"bytes"
	"encoding/binary"

	"github.com/moongate/moongate/core/httpbytes"
)

// The request headers a response varies on select its variant. Requests
// whose values differ only in ways that do not change their meaning
// share a variant (RFC 9111 §4.1):
//   - any header: its lines count as one value, joined by commas (RFC
//     9110 §5.3), each line trimmed;
//   - Accept, Accept-Charset, Accept-Encoding, Accept-Language, whose
//     syntax is known: members are compared without the whitespace
//     around commas, semicolons and equal signs, in lower case (codings,
//     charsets, language tags, media types and parameter names are
//     case-insensitive), with q=1 left out and other weights written as
//     thousandths, and in an order that means the same: Accept-Encoding's
//     members sorted (their order means nothing), the others sorted by
//     weight only, those of equal weight keeping their order (some
//     servers read it as a preference).
// A list that cannot be read so (an invalid weight, more than
// maxVaryMembers members) counts as written.

// maxVaryMembers bounds the members of a list normalized.
const maxVaryMembers = 32

// varyScratch holds a list being normalized; it lives in the request's
// state.
type varyScratch struct {
	buf   []byte
	spans [maxVaryMembers]varySpan
}

type varySpan struct {
	off, end int
	q        int
}

const (
	varyPlain     = iota
	varySorted    // Accept-Encoding
	varyByWeight  // Accept-Language, Accept-Charset
	varyMediaList // Accept: by weight; parameter values keep their case
)

func varyKindOf(name []byte) int {
	switch {
	case httpbytes.EqualFold(name, "Accept-Encoding"):
		return varySorted
	case httpbytes.EqualFold(name, "Accept-Language"), httpbytes.EqualFold(name, "Accept-Charset"):
		return varyByWeight
	case httpbytes.EqualFold(name, "Accept"):
		return varyMediaList
	}
	return varyPlain
}

// appendVaryValue appends to b the normalized value of a request header
// whose lines are given.
func appendVaryValue(b []byte, vs *varyScratch, name []byte, lines [][]byte) []byte {
	if len(lines) == 0 {
		// Absent differs from empty: no Accept-Encoding accepts any
		// coding, an empty one none (RFC 9110 §12.5.3).
		return append(b, 2)
	}
	if kind := varyKindOf(name); kind != varyPlain {
		if n, ok := vs.list(kind, lines); ok {
			b = append(b, 1)
			b = binary.AppendUvarint(b, uint64(n))
			for _, s := range vs.spans[:n] {
				b = appendString(b, vs.buf[s.off:s.end])
				b = binary.AppendUvarint(b, uint64(s.q))
			}
			return b
		}
	}
	vs.buf = vs.buf[:0]
	for _, l := range lines {
		l = httpbytes.TrimOWS(l)
		if len(l) == 0 {
			continue
		}
		if len(vs.buf) > 0 {
			vs.buf = append(vs.buf, ", "...)
		}
		vs.buf = append(vs.buf, l...)
	}
	return appendString(append(b, 0), vs.buf)
}

// list reads the members of a list header into vs, canonical and sorted;
// it returns their number, or false when the list cannot be normalized.
func (vs *varyScratch) list(kind int, lines [][]byte) (int, bool) {
	vs.buf = vs.buf[:0]
	n := 0
	for _, l := range lines {
		for len(l) > 0 {
			i := splitAt(l, ',')
			m := httpbytes.TrimOWS(l[:i])
			if i < len(l) {
				l = l[i+1:]
			} else {
				l = nil
			}
			if len(m) == 0 {
				continue
			}
			if n == maxVaryMembers {
				return 0, false
			}
			off := len(vs.buf)
			q, ok := vs.member(kind, m)
			if !ok {
				return 0, false
			}
			vs.spans[n] = varySpan{off: off, end: len(vs.buf), q: q}
			n++
		}
	}
	sp := vs.spans[:n]
	// Insertion sort: few members, stable, no allocation.
	for i := 1; i < n; i++ {
		for j := i; j > 0 && vs.before(kind, sp[j], sp[j-1]); j-- {
			sp[j], sp[j-1] = sp[j-1], sp[j]
		}
	}
	return n, true
}

func (vs *varyScratch) before(kind int, a, b varySpan) bool {
	if a.q != b.q {
		return a.q > b.q
	}
	if kind == varySorted {
		return bytes.Compare(vs.buf[a.off:a.end], vs.buf[b.off:b.end]) < 0
	}
	return false
}

// member appends the canonical form of one member (without its weight)
// and returns its weight in thousandths.
func (vs *varyScratch) member(kind int, m []byte) (int, bool) {
	q := 1000
	first := true
	for len(m) > 0 {
		i := splitAt(m, ';')
		part := httpbytes.TrimOWS(m[:i])
		if i < len(m) {
			m = m[i+1:]
		} else {
			m = nil
		}
		if first {
			vs.buf = httpbytes.AppendLower(vs.buf, part)
			first = false
			continue
		}
		if len(part) == 0 {
			continue
		}
		name, val := part, []byte(nil)
		if j := bytes.IndexByte(part, '='); j >= 0 {
			name, val = httpbytes.TrimOWS(part[:j]), httpbytes.TrimOWS(part[j+1:])
		}
		if httpbytes.EqualFold(name, "q") {
			var ok bool
			if q, ok = qvalue(val); !ok {
				return 0, false
			}
			continue
		}
		vs.buf = append(vs.buf, ';')
		vs.buf = httpbytes.AppendLower(vs.buf, name)
		if val != nil {
			vs.buf = append(vs.buf, '=')
			if kind == varyMediaList {
				vs.buf = append(vs.buf, val...)
			} else {
				vs.buf = httpbytes.AppendLower(vs.buf, val)
			}
		}
	}
	return q, true
}

// qvalue reads a weight (RFC 9110 §12.4.2: 0 to 1, at most three
// decimals) in thousandths.
func qvalue(v []byte) (int, bool) {
	if len(v) == 0 || len(v) > 5 || (v[0] != '0' && v[0] != '1') {
		return 0, false
	}
	q := int(v[0]-'0') * 1000
	if len(v) > 1 {
		if v[1] != '.' {
			return 0, false
		}
		scale := 100
		for _, c := range v[2:] {
			if c < '0' || c > '9' {
				return 0, false
			}
			q += int(c-'0') * scale
			scale /= 10
		}
	}
	return q, q <= 1000
}

// splitAt returns the index of the first sep outside a quoted string, or
// len(b).
func splitAt(b []byte, sep byte) int {
	quoted := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			return i
		}
	}
	return len(b)
}
