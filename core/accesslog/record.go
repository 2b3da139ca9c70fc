package accesslog

import (
	"net/netip"
	"time"

	"github.com/moongate/moongate/core/httpbytes"
)

// Record holds the fields of one access-log line. The access-log plugin
// fills it after the response has been written; the formats read it.
//
// A Record is designed to be filled without allocating: its []byte fields
// reference memory the caller owns (the request's headers, a pooled
// buffer, names from the configuration) and are only read during the
// Append call they are passed to. A zero Record is valid; the fields that
// are zero are "absent" (see each field, and each format for how an
// absent field is written).
type Record struct {
	// Time is when the request was received (its first byte read). JSON
	// and the templates write it in Time's location: fill it in UTC or in
	// local time as the configuration says.
	Time time.Time

	// RequestID is the request's ID (X-Request-ID, as the request-id step
	// set or passed it). Absent when empty.
	RequestID []byte

	// ClientIP is the client's address after trusted_proxies (the
	// X-Forwarded-For a trusted proxy vouched for), or the peer address.
	// Absent when invalid (the zero netip.Addr). An IPv4-mapped IPv6
	// address is written as IPv4.
	ClientIP netip.Addr

	// Method is the request method. Absent when empty.
	Method []byte

	// Path is the request path as routed (normalized, what every step and
	// the upstream saw), without the query. Absent when empty.
	Path []byte

	// Query is the query string without its '?', with credentials already
	// redacted by the caller (AppendRedactedQuery). Absent when empty.
	Query []byte

	// Protocol is the request's protocol, e.g. "HTTP/1.1". Absent when
	// empty.
	Protocol []byte

	// Status is the status code sent to the client; 0 when no response
	// was sent (written as 0 in JSON, "000" in the nginx formats, as
	// nginx does).
	Status int

	// BytesSent is the number of response body bytes written to the
	// client (nginx's $body_bytes_sent): for a streamed response, the
	// bytes actually sent, also when the client went away mid-stream.
	BytesSent int64

	// BytesReceived is the number of request body bytes read from the
	// client.
	BytesReceived int64

	// RequestTime is the time from the request's first byte to the end
	// of writing the response. Negative values are written as 0.
	RequestTime time.Duration

	// Upstream is the name of the upstream (from the configuration) the
	// request was proxied to. Absent when empty.
	Upstream []byte

	// UpstreamTarget is the address (host:port) of the last upstream
	// target tried. Absent when empty; UpstreamTime and Retries are only
	// written when it is present (no upstream was contacted otherwise).
	UpstreamTarget []byte

	// UpstreamStatus is the status code of the upstream's response; 0
	// (absent) when the upstream gave none (connection refused, timeout)
	// or was not contacted.
	UpstreamStatus int

	// UpstreamTime is the time spent on the upstream call, all tries
	// included, up to the response headers.
	UpstreamTime time.Duration

	// Retries is the number of upstream tries after the first.
	Retries int

	// Route is the name of the route that matched. Absent when empty.
	Route []byte

	// Consumer is the name of the authenticated consumer (from the
	// configuration, never a credential). Absent when empty.
	Consumer []byte

	// CacheStatus is the proxy cache's verdict (HIT, MISS, STALE,
	// REVALIDATED, BYPASS...). Absent when empty.
	CacheStatus []byte

	// UserAgent is the User-Agent request header. Absent when empty.
	UserAgent []byte

	// Referer is the Referer request header. Absent when empty.
	Referer []byte

	// Traceparent is the W3C traceparent of the request (received or
	// created). Absent when empty.
	Traceparent []byte
}

// Redacted is what AppendRedactedQuery writes in place of a redacted
// value.
const Redacted = "[redacted]"

// AppendRedactedQuery appends query (a raw query string, without its '?')
// to dst with the value of every parameter named in names replaced by
// "[redacted]", and returns the extended buffer. It does not allocate.
//
// names are the query parameters that carry credentials (the query names
// of the key-auth and jwt configurations). A parameter name matches when,
// percent-decoded ('+' is a space), it equals one of names ignoring ASCII
// case: a client that writes "api%5Fkey" or "API_KEY" still has its key
// redacted, even where the auth step would not have read it. Every
// occurrence of a name is redacted. Everything else is appended
// unchanged.
func AppendRedactedQuery(dst, query []byte, names []string) []byte {
	for len(query) > 0 {
		end := 0
		for end < len(query) && query[end] != '&' {
			end++
		}
		param := query[:end]
		eq := 0
		for eq < len(param) && param[eq] != '=' {
			eq++
		}
		if eq < len(param) && matchesAny(param[:eq], names) {
			dst = append(dst, param[:eq+1]...)
			dst = append(dst, Redacted...)
		} else {
			dst = append(dst, param...)
		}
		if end == len(query) {
			break
		}
		dst = append(dst, '&')
		query = query[end+1:]
	}
	return dst
}

func matchesAny(raw []byte, names []string) bool {
	for _, n := range names {
		if decodedEqualFold(raw, n) {
			return true
		}
	}
	return false
}

// decodedEqualFold reports whether raw, percent-decoded with '+' as a
// space, equals name ignoring ASCII case. A malformed escape stands for
// itself, as fasthttp's query decoding leaves it.
func decodedEqualFold(raw []byte, name string) bool {
	j := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch c {
		case '+':
			c = ' '
		case '%':
			if i+2 < len(raw) {
				if d, ok := httpbytes.HexByte(raw[i+1], raw[i+2]); ok {
					c, i = d, i+2
				}
			}
		}
		if j == len(name) || httpbytes.Lower(c) != httpbytes.Lower(name[j]) {
			return false
		}
		j++
	}
	return j == len(name)
}
