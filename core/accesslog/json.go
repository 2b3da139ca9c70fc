package accesslog

import "github.com/moongate/moongate/core/jsonstr"

// AppendJSON appends r to dst as one JSON object followed by '\n' (JSON
// lines) and returns the extended buffer. It does not allocate beyond
// growing dst.
//
// Fields come in a fixed order, named as in docs/observability.md:
// time, request_id, client_ip, method, path, query, protocol, status,
// bytes_sent, bytes_received, request_time, upstream, upstream_target,
// upstream_status, upstream_time, retries, route, consumer, cache_status,
// user_agent, referer, traceparent.
//
// An absent field is omitted (never null), so a line carries only what
// happened: a request answered by a step has no upstream_* fields. time,
// status, bytes_sent, bytes_received and request_time are always present.
// time is RFC 3339 with milliseconds in Record.Time's location; durations
// are numbers of seconds with microsecond resolution (nginx writes
// milliseconds; a gateway's times are often below one).
//
// Strings are escaped as JSON requires: '"', '\\' and control characters
// (and DEL) are escaped, and each byte of invalid UTF-8 becomes U+FFFD, so
// every line is valid JSON whatever bytes a client sent.
func AppendJSON(dst []byte, r *Record) []byte {
	dst = append(dst, `{"time":"`...)
	dst = appendRFC3339Millis(dst, r.Time)
	dst = append(dst, '"')
	dst = jsonField(dst, `,"request_id":"`, r.RequestID)
	if r.ClientIP.IsValid() {
		dst = append(dst, `,"client_ip":"`...)
		dst = appendAddr(dst, r.ClientIP, jsonstr.AppendString)
		dst = append(dst, '"')
	}
	dst = jsonField(dst, `,"method":"`, r.Method)
	dst = jsonField(dst, `,"path":"`, r.Path)
	dst = jsonField(dst, `,"query":"`, r.Query)
	dst = jsonField(dst, `,"protocol":"`, r.Protocol)
	dst = append(dst, `,"status":`...)
	dst = appendInt(dst, int64(r.Status))
	dst = append(dst, `,"bytes_sent":`...)
	dst = appendInt(dst, max(r.BytesSent, 0))
	dst = append(dst, `,"bytes_received":`...)
	dst = appendInt(dst, max(r.BytesReceived, 0))
	dst = append(dst, `,"request_time":`...)
	dst = appendSeconds(dst, r.RequestTime)
	dst = jsonField(dst, `,"upstream":"`, r.Upstream)
	if len(r.UpstreamTarget) > 0 {
		dst = jsonField(dst, `,"upstream_target":"`, r.UpstreamTarget)
		if r.UpstreamStatus != 0 {
			dst = append(dst, `,"upstream_status":`...)
			dst = appendInt(dst, int64(r.UpstreamStatus))
		}
		dst = append(dst, `,"upstream_time":`...)
		dst = appendSeconds(dst, r.UpstreamTime)
		dst = append(dst, `,"retries":`...)
		dst = appendInt(dst, int64(r.Retries))
	}
	dst = jsonField(dst, `,"route":"`, r.Route)
	dst = jsonField(dst, `,"consumer":"`, r.Consumer)
	dst = jsonField(dst, `,"cache_status":"`, r.CacheStatus)
	dst = jsonField(dst, `,"user_agent":"`, r.UserAgent)
	dst = jsonField(dst, `,"referer":"`, r.Referer)
	dst = jsonField(dst, `,"traceparent":"`, r.Traceparent)
	return append(dst, '}', '\n')
}

// jsonField appends key (which opens the value's quotes) and v as a JSON
// string, when v is present.
func jsonField(dst []byte, key string, v []byte) []byte {
	if len(v) == 0 {
		return dst
	}
	dst = append(dst, key...)
	dst = jsonstr.AppendBytes(dst, v)
	return append(dst, '"')
}
