package accesslog

// AppendCombined appends r to dst in nginx's "combined" format followed
// by '\n', and returns the extended buffer:
//
//	$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"
//
// for example
//
//	203.0.113.7 - alice [01/May/2024:12:00:00 +0000] "GET /users/42?page=2 HTTP/1.1" 200 512 "-" "curl/8.5.0"
//
// Values are escaped as nginx's default log escaping does: '"', '\\',
// control characters and bytes from 0x7f become \xHH, so a client can
// neither end a quoted field nor start a new line. An absent value is
// "-". Where moongate differs from nginx:
//   - $remote_user is the authenticated consumer (nginx: the Basic auth
//     user name); a consumer name is configuration, never a credential.
//   - $request is rebuilt from the method, the routed path, the query
//     (credentials redacted) and the protocol, not the raw request line.
//   - A header sent empty is written "-", as an absent one.
//
// Like AppendJSON, it does not allocate beyond growing dst.
func AppendCombined(dst []byte, r *Record) []byte {
	dst = appendRemoteAddr(dst, r)
	dst = append(dst, " - "...)
	dst = nginxValue(dst, r.Consumer)
	dst = append(dst, " ["...)
	dst = appendTimeLocal(dst, r.Time)
	dst = append(dst, "] \""...)
	dst = appendRequestLine(dst, r)
	dst = append(dst, "\" "...)
	dst = appendStatus(dst, r.Status)
	dst = append(dst, ' ')
	dst = appendInt(dst, max(r.BytesSent, 0))
	dst = append(dst, " \""...)
	dst = nginxValue(dst, r.Referer)
	dst = append(dst, "\" \""...)
	dst = nginxValue(dst, r.UserAgent)
	return append(dst, '"', '\n')
}

// nginxValue appends v with nginx escaping, or "-" when v is absent.
func nginxValue(dst, v []byte) []byte {
	if len(v) == 0 {
		return append(dst, '-')
	}
	return appendNginx(dst, v)
}

func appendRemoteAddr(dst []byte, r *Record) []byte {
	if !r.ClientIP.IsValid() {
		return append(dst, '-')
	}
	return appendAddr(dst, r.ClientIP, appendNginxString)
}

// appendRequestLine appends "METHOD /path?query PROTOCOL" with nginx
// escaping; the parts present are joined by spaces. With no method and no
// path (nothing was parsed) it is "-".
func appendRequestLine(dst []byte, r *Record) []byte {
	if len(r.Method) == 0 && len(r.Path) == 0 {
		return append(dst, '-')
	}
	dst = appendNginx(dst, r.Method)
	dst = append(dst, ' ')
	dst = appendRequestURI(dst, r, appendNginx)
	if len(r.Protocol) > 0 {
		dst = append(dst, ' ')
		dst = appendNginx(dst, r.Protocol)
	}
	return dst
}

// appendRequestURI appends the path, and '?' and the query when there is
// one, escaped with esc.
func appendRequestURI(dst []byte, r *Record, esc func(dst, s []byte) []byte) []byte {
	dst = esc(dst, r.Path)
	if len(r.Query) > 0 {
		dst = append(dst, '?')
		dst = esc(dst, r.Query)
	}
	return dst
}
