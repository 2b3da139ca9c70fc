package accesslog

import (
	"errors"
	"fmt"
	"strings"

	"github.com/moongate/moongate/core/jsonstr"
)

// Escaping says how a Template escapes the values of its variables.
type Escaping int

const (
	// EscapeDefault is nginx's default log escaping: '"', '\\', control
	// characters and bytes from 0x7f become \xHH; an absent value is "-".
	EscapeDefault Escaping = iota
	// EscapeJSON escapes values as the inside of JSON strings (invalid
	// UTF-8 becomes U+FFFD), for a template that writes JSON itself; an
	// absent value is empty, so quote every variable ("$status" too) in
	// such a template. It is nginx's escape=json.
	EscapeJSON
)

// Template is a line format of literal text and $variables, compiled once
// (NewTemplate) into a list of operations. It is immutable and safe for
// concurrent use.
type Template struct {
	ops []op
	esc Escaping
}

// op is one operation of a compiled template: literal text, or a field.
type op struct {
	f   field
	lit string
}

// field is a value a template variable writes.
type field uint8

const (
	fLiteral field = iota
	fTime
	fTimeISO8601
	fTimeLocal
	fMsec
	fRequestID
	fClientIP
	fMethod
	fPath
	fQuery
	fRequestURI
	fRequest
	fProtocol
	fStatus
	fBytesSent
	fBytesReceived
	fRequestTime
	fUpstream
	fUpstreamTarget
	fUpstreamStatus
	fUpstreamTime
	fRetries
	fRoute
	fConsumer
	fCacheStatus
	fUserAgent
	fReferer
	fTraceparent
	fTraceID
)

// variable documents one template variable. alias names the variable it
// is another name for (an nginx name), if any.
type variable struct {
	name  string
	f     field
	alias string
	doc   string
}

// variables lists every template variable, in the order of the
// documentation (docs/observability.md is generated from it: go generate
// ./core/accesslog).
var variables = []variable{
	{name: "time", f: fTime, doc: "when the request was received, RFC 3339 with milliseconds: `2024-05-01T12:00:00.123Z`"},
	{name: "time_iso8601", f: fTimeISO8601, doc: "the same time as nginx writes it, to the second: `2024-05-01T12:00:00+00:00`"},
	{name: "time_local", f: fTimeLocal, doc: "the same time in the Common Log Format: `01/May/2024:12:00:00 +0000`"},
	{name: "msec", f: fMsec, doc: "the same time as Unix seconds with milliseconds: `1714564800.123`"},
	{name: "request_id", f: fRequestID, doc: "the request's ID (X-Request-ID)"},
	{name: "client_ip", f: fClientIP, doc: "the client's address, after `trusted_proxies`"},
	{name: "remote_addr", f: fClientIP, alias: "client_ip"},
	{name: "method", f: fMethod, doc: "the request method"},
	{name: "request_method", f: fMethod, alias: "method"},
	{name: "path", f: fPath, doc: "the path as routed (normalized), without the query"},
	{name: "uri", f: fPath, alias: "path"},
	{name: "query", f: fQuery, doc: "the query string without `?`, credentials redacted"},
	{name: "args", f: fQuery, alias: "query"},
	{name: "request_uri", f: fRequestURI, doc: "the path, and `?` and the query when there is one"},
	{name: "request", f: fRequest, doc: "the request line: method, request_uri and protocol: `GET /users/42?page=2 HTTP/1.1`"},
	{name: "protocol", f: fProtocol, doc: "the request protocol: `HTTP/1.1`"},
	{name: "server_protocol", f: fProtocol, alias: "protocol"},
	{name: "status", f: fStatus, doc: "the status sent to the client, three digits (`000` when none was sent)"},
	{name: "bytes_sent", f: fBytesSent, doc: "response body bytes written to the client (for a stream, what was actually sent)"},
	{name: "body_bytes_sent", f: fBytesSent, alias: "bytes_sent"},
	{name: "bytes_received", f: fBytesReceived, doc: "request body bytes read from the client"},
	{name: "request_time", f: fRequestTime, doc: "seconds from the request's first byte to the end of the response, microsecond resolution: `0.001234`"},
	{name: "upstream", f: fUpstream, doc: "the name of the upstream the request was proxied to"},
	{name: "upstream_target", f: fUpstreamTarget, doc: "the address (host:port) of the last target tried"},
	{name: "upstream_addr", f: fUpstreamTarget, alias: "upstream_target"},
	{name: "upstream_status", f: fUpstreamStatus, doc: "the status of the upstream's response (absent when it gave none)"},
	{name: "upstream_time", f: fUpstreamTime, doc: "seconds spent on the upstream, all tries, up to its response headers"},
	{name: "upstream_response_time", f: fUpstreamTime, alias: "upstream_time"},
	{name: "retries", f: fRetries, doc: "upstream tries after the first (absent when no upstream was contacted)"},
	{name: "route", f: fRoute, doc: "the name of the route that matched"},
	{name: "consumer", f: fConsumer, doc: "the name of the authenticated consumer"},
	{name: "remote_user", f: fConsumer, alias: "consumer"},
	{name: "cache_status", f: fCacheStatus, doc: "the proxy cache's verdict: `HIT`, `MISS`, `STALE`, `REVALIDATED`, `BYPASS`..."},
	{name: "upstream_cache_status", f: fCacheStatus, alias: "cache_status"},
	{name: "user_agent", f: fUserAgent, doc: "the User-Agent request header"},
	{name: "http_user_agent", f: fUserAgent, alias: "user_agent"},
	{name: "referer", f: fReferer, doc: "the Referer request header"},
	{name: "http_referer", f: fReferer, alias: "referer"},
	{name: "traceparent", f: fTraceparent, doc: "the W3C traceparent of the request"},
	{name: "http_traceparent", f: fTraceparent, alias: "traceparent"},
	{name: "trace_id", f: fTraceID, doc: "the trace ID (32 hex digits) of a well-formed traceparent"},
}

// NewTemplate compiles text, a line format with $variables, into a
// Template that escapes values with esc. It runs at load time; its error
// names the problem and where it is, with a did-you-mean for a misspelt
// variable:
//
//	unknown variable "$reqest_time" (did you mean "$request_time"?)
//
// A variable is written $name or ${name} (when a letter, a digit or '_'
// follows it); "$$" is a literal '$'. The line ends where text ends:
// Append adds the '\n', so text may not contain a newline, a carriage
// return or another control character except tab.
func NewTemplate(text string, esc Escaping) (*Template, error) {
	if esc != EscapeDefault && esc != EscapeJSON {
		return nil, fmt.Errorf("unknown escaping %d", esc)
	}
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("template is empty")
	}
	var ops []op
	var lit []byte
	for i := 0; i < len(text); {
		c := text[i]
		if c != '$' {
			if c < 0x20 && c != '\t' || c == 0x7f {
				return nil, fmt.Errorf("template has a control character (%q) at offset %d: a template is one line", c, i)
			}
			lit = append(lit, c)
			i++
			continue
		}
		if i+1 < len(text) && text[i+1] == '$' {
			lit = append(lit, '$')
			i += 2
			continue
		}
		name, next, err := variableName(text, i)
		if err != nil {
			return nil, err
		}
		v, ok := lookupVariable(name)
		if !ok {
			msg := fmt.Sprintf("unknown variable %q", "$"+name)
			if s := suggestVariable(name); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", "$"+s)
			}
			return nil, errors.New(msg)
		}
		if len(lit) > 0 {
			ops = append(ops, op{lit: string(lit)})
			lit = lit[:0]
		}
		ops = append(ops, op{f: v.f})
		i = next
	}
	if len(lit) > 0 {
		ops = append(ops, op{lit: string(lit)})
	}
	return &Template{ops: ops, esc: esc}, nil
}

// variableName reads the variable at text[i] ('$') and returns its name
// and the offset after it.
func variableName(text string, i int) (name string, next int, err error) {
	j := i + 1
	braced := j < len(text) && text[j] == '{'
	if braced {
		j++
	}
	start := j
	for j < len(text) && isNameByte(text[j]) {
		j++
	}
	name = text[start:j]
	if braced {
		if j == len(text) || text[j] != '}' {
			return "", 0, fmt.Errorf("variable %q at offset %d has no closing '}'", text[i:j], i)
		}
		j++
	}
	if name == "" {
		return "", 0, fmt.Errorf(`"$" at offset %d is not followed by a variable name (write "$$" for a literal "$")`, i)
	}
	return name, j, nil
}

func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

func lookupVariable(name string) (variable, bool) {
	for _, v := range variables {
		if v.name == name {
			return v, true
		}
	}
	return variable{}, false
}

// Append appends the line r makes with t, and '\n', to dst and returns the
// extended buffer. It does not allocate beyond growing dst.
func (t *Template) Append(dst []byte, r *Record) []byte {
	for i := range t.ops {
		o := &t.ops[i]
		if o.f == fLiteral {
			dst = append(dst, o.lit...)
			continue
		}
		dst = t.appendField(dst, o.f, r)
	}
	return append(dst, '\n')
}

// appendField appends the value of f, escaped, or the absent mark.
func (t *Template) appendField(dst []byte, f field, r *Record) []byte {
	switch f {
	case fTime:
		return appendRFC3339Millis(dst, r.Time)
	case fTimeISO8601:
		return appendISO8601(dst, r.Time)
	case fTimeLocal:
		return appendTimeLocal(dst, r.Time)
	case fMsec:
		return appendMsec(dst, r.Time)
	case fRequestID:
		return t.appendBytes(dst, r.RequestID)
	case fClientIP:
		if !r.ClientIP.IsValid() {
			return t.absent(dst)
		}
		if t.esc == EscapeJSON {
			return appendAddr(dst, r.ClientIP, jsonstr.AppendString)
		}
		return appendAddr(dst, r.ClientIP, appendNginxString)
	case fMethod:
		return t.appendBytes(dst, r.Method)
	case fPath:
		return t.appendBytes(dst, r.Path)
	case fQuery:
		return t.appendBytes(dst, r.Query)
	case fRequestURI:
		if len(r.Path) == 0 && len(r.Query) == 0 {
			return t.absent(dst)
		}
		return appendRequestURI(dst, r, t.escapeFunc())
	case fRequest:
		if len(r.Method) == 0 && len(r.Path) == 0 {
			return t.absent(dst)
		}
		esc := t.escapeFunc()
		dst = esc(dst, r.Method)
		dst = append(dst, ' ')
		dst = appendRequestURI(dst, r, esc)
		if len(r.Protocol) > 0 {
			dst = append(dst, ' ')
			dst = esc(dst, r.Protocol)
		}
		return dst
	case fProtocol:
		return t.appendBytes(dst, r.Protocol)
	case fStatus:
		return appendStatus(dst, r.Status)
	case fBytesSent:
		return appendInt(dst, max(r.BytesSent, 0))
	case fBytesReceived:
		return appendInt(dst, max(r.BytesReceived, 0))
	case fRequestTime:
		return appendSeconds(dst, r.RequestTime)
	case fUpstream:
		return t.appendBytes(dst, r.Upstream)
	case fUpstreamTarget:
		return t.appendBytes(dst, r.UpstreamTarget)
	case fUpstreamStatus:
		if r.UpstreamStatus == 0 {
			return t.absent(dst)
		}
		return appendStatus(dst, r.UpstreamStatus)
	case fUpstreamTime:
		if len(r.UpstreamTarget) == 0 {
			return t.absent(dst)
		}
		return appendSeconds(dst, r.UpstreamTime)
	case fRetries:
		if len(r.UpstreamTarget) == 0 {
			return t.absent(dst)
		}
		return appendInt(dst, int64(r.Retries))
	case fRoute:
		return t.appendBytes(dst, r.Route)
	case fConsumer:
		return t.appendBytes(dst, r.Consumer)
	case fCacheStatus:
		return t.appendBytes(dst, r.CacheStatus)
	case fUserAgent:
		return t.appendBytes(dst, r.UserAgent)
	case fReferer:
		return t.appendBytes(dst, r.Referer)
	case fTraceparent:
		return t.appendBytes(dst, r.Traceparent)
	case fTraceID:
		return t.appendBytes(dst, traceID(r.Traceparent))
	}
	return dst
}

func (t *Template) appendBytes(dst, v []byte) []byte {
	if len(v) == 0 {
		return t.absent(dst)
	}
	if t.esc == EscapeJSON {
		return jsonstr.AppendBytes(dst, v)
	}
	return appendNginx(dst, v)
}

func (t *Template) absent(dst []byte) []byte {
	if t.esc == EscapeJSON {
		return dst
	}
	return append(dst, '-')
}

func (t *Template) escapeFunc() func(dst, s []byte) []byte {
	if t.esc == EscapeJSON {
		return jsonstr.AppendBytes
	}
	return appendNginx
}

// traceID returns the trace-id of a traceparent
// ("00-<32 hex>-<16 hex>-<2 hex>"), or nil when it is not well formed.
func traceID(tp []byte) []byte {
	if len(tp) < 55 || tp[2] != '-' || tp[35] != '-' || tp[52] != '-' {
		return nil
	}
	id := tp[3:35]
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return nil
		}
	}
	return id
}

// suggestVariable returns the variable name closest to name, if it is
// close enough to be a likely typo of it, or "".
func suggestVariable(name string) string {
	best, bestDist := "", 3
	lname := strings.ToLower(name)
	for _, v := range variables {
		if d := editDistance(lname, v.name); d < bestDist {
			best, bestDist = v.name, d
		}
	}
	if bestDist > len(name)/2 {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
