package cache

import (
	"encoding/binary"

	"github.com/moongate/moongate/core/httpbytes"
)

// A stored value is one of two records:
//
//	vary record      'V', then the names of the Vary header (lower case),
//	                 each as uvarint length + bytes: the response varies,
//	                 its variants are stored under keys that add the
//	                 request's values of those headers
//	response record  'R', fixed fields (below), the headers to replay
//	                 (uvarint length + bytes, name then value; Date
//	                 first), the tags, then the body
//	too-big record   'B' alone: the response was a stream too large to
//	                 store (Range requests then go upstream)
//
// Times are unix nanoseconds, durations nanoseconds.
const (
	kindVary     = 'V'
	kindResponse = 'R'
	kindTooBig   = 'B' // the response streams past what can be stored (markTooBig)

	offFlags    = 1
	offStatus   = 2  // uint16
	offStamp    = 4  // when the response was requested upstream (purge marks compare to it)
	offRespTime = 12 // when it was received
	offInitAge  = 20 // corrected initial age (RFC 9111 §4.2.3)
	offLifetime = 28 // freshness lifetime
	offSWR      = 36 // stale-while-revalidate window
	offSIE      = 44 // stale-if-error window
	offNHeaders = 52 // uint16
	offNTags    = 54 // uint16
	offBodyLen  = 56 // uint32
	offHdrLen   = 60 // uint32: bytes of the headers
	fixedLen    = 64

	// flags
	flagNoStale  = 1 // must-revalidate, proxy-revalidate (or s-maxage): never served stale
	flagNoCache  = 2 // revalidate before every use
	flagHeuristc = 4 // lifetime is heuristic
)

// entry is a parsed response record; its slices point into the record.
type entry struct {
	flags    byte
	status   int
	stamp    int64
	respTime int64
	initAge  int64
	lifetime int64
	swr, sie int64
	nh, nt   int
	headers  []byte
	tags     []byte
	body     []byte
}

// parseEntry parses a response record; ok is false for anything else.
func parseEntry(b []byte) (e entry, ok bool) {
	if len(b) < fixedLen || b[0] != kindResponse {
		return e, false
	}
	e.flags = b[offFlags]
	e.status = int(binary.BigEndian.Uint16(b[offStatus:]))
	e.stamp = int64(binary.BigEndian.Uint64(b[offStamp:]))
	e.respTime = int64(binary.BigEndian.Uint64(b[offRespTime:]))
	e.initAge = int64(binary.BigEndian.Uint64(b[offInitAge:]))
	e.lifetime = int64(binary.BigEndian.Uint64(b[offLifetime:]))
	e.swr = int64(binary.BigEndian.Uint64(b[offSWR:]))
	e.sie = int64(binary.BigEndian.Uint64(b[offSIE:]))
	e.nh = int(binary.BigEndian.Uint16(b[offNHeaders:]))
	e.nt = int(binary.BigEndian.Uint16(b[offNTags:]))
	blen := int(binary.BigEndian.Uint32(b[offBodyLen:]))
	rest := b[fixedLen:]
	if blen > len(rest) {
		return e, false
	}
	e.body = rest[len(rest)-blen:]
	meta := rest[:len(rest)-blen]
	hlen := int(binary.BigEndian.Uint32(b[offHdrLen:]))
	if hlen > len(meta) {
		return e, false
	}
	e.headers, e.tags = meta[:hlen], meta[hlen:]
	return e, true
}

// age returns the entry's current age at now (RFC 9111 §4.2.3).
func (e *entry) age(now int64) int64 {
	return e.initAge + max(now-e.respTime, 0)
}

// header returns the first stored value of name (canonical case), or nil.
func (e *entry) header(name string) []byte {
	r := reader{b: e.headers}
	for {
		k, ok := r.next()
		if !ok {
			return nil
		}
		v, _ := r.next()
		if httpbytes.EqualFold(k, name) {
			return v
		}
	}
}

// reader reads uvarint-length-prefixed byte strings.
type reader struct{ b []byte }

func (r *reader) next() ([]byte, bool) {
	n, w := binary.Uvarint(r.b)
	if w <= 0 || uint64(len(r.b)-w) < n {
		return nil, false
	}
	v := r.b[w : w+int(n)]
	r.b = r.b[w+int(n):]
	return v, true
}

func appendString(dst, s []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// appendFixed appends the fixed part of a response record.
func appendFixed(dst []byte, e *entry) []byte {
	dst = append(dst, kindResponse, e.flags)
	dst = binary.BigEndian.AppendUint16(dst, uint16(e.status))
	for _, v := range [...]int64{e.stamp, e.respTime, e.initAge, e.lifetime, e.swr, e.sie} {
		dst = binary.BigEndian.AppendUint64(dst, uint64(v))
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(e.nh))
	dst = binary.BigEndian.AppendUint16(dst, uint16(e.nt))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(e.body)))
	return binary.BigEndian.AppendUint32(dst, uint32(len(e.headers)))
}
