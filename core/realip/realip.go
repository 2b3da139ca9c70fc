package realip

import (
	"net/netip"

	"github.com/moongate/moongate/core/httpbytes"
)

// Trusted is the set of proxies whose forwarding headers are believed. The
// zero value trusts nobody. It is immutable once built and safe for
// concurrent use.
type Trusted struct {
	prefixes []netip.Prefix
}

// NewTrusted returns the set of the given prefixes.
func NewTrusted(prefixes []netip.Prefix) *Trusted {
	return &Trusted{prefixes: append([]netip.Prefix(nil), prefixes...)}
}

// Contains reports whether addr is a trusted proxy.
func (t *Trusted) Contains(addr netip.Addr) bool {
	if t == nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range t.prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Empty reports whether no proxy is trusted.
func (t *Trusted) Empty() bool { return t == nil || len(t.prefixes) == 0 }

// ClientIP returns the real client address of a request that arrived from
// remote with the given X-Forwarded-For field lines, in the order they
// were received. When remote is not trusted, it is the client. Otherwise
// the lines are one comma-separated list (RFC 9110 §5.3: a proxy that
// appends a line of its own, as HAProxy does, means the same as one that
// appends to the last line), read from the right, skipping trusted
// proxies: the first untrusted address is the client (a client can
// prepend anything, but cannot forge what trusted proxies appended).
// Empty elements and lines are skipped. If every hop is trusted, the
// leftmost valid address is used; an unparsable entry stops the walk at
// the last good address. It does not allocate.
func (t *Trusted) ClientIP(remote netip.Addr, xff ...[]byte) netip.Addr {
	remote = remote.Unmap()
	if len(xff) == 0 || !t.Contains(remote) {
		return remote
	}
	client := remote
	for i := len(xff) - 1; i >= 0; i-- {
		line := xff[i]
		for end := len(line); end > 0; {
			start := end - 1
			for start >= 0 && line[start] != ',' {
				start--
			}
			entry := line[start+1 : end]
			end = start
			if len(httpbytes.TrimOWS(entry)) == 0 {
				continue
			}
			a, ok := parseAddr(entry)
			if !ok {
				return client
			}
			client = a
			if !t.Contains(a) {
				return a
			}
		}
	}
	return client
}

// parseAddr parses one X-Forwarded-For entry, trimming spaces and allowing
// a port or brackets around IPv6 ("[::1]:80", "1.2.3.4:80"). IPv4
// addresses are parsed without allocating.
func parseAddr(b []byte) (netip.Addr, bool) {
	b = httpbytes.TrimOWS(b)
	if len(b) == 0 || len(b) > 64 {
		return netip.Addr{}, false
	}
	var buf [64]byte
	s := buf[:copy(buf[:], b)]
	if s[0] == '[' {
		end := 0
		for end < len(s) && s[end] != ']' {
			end++
		}
		if end == len(s) {
			return netip.Addr{}, false
		}
		s = s[1:end]
	} else if colons := countColon(s); colons == 1 {
		for i := range s {
			if s[i] == ':' {
				s = s[:i]
				break
			}
		}
	}
	if a, ok := parseIPv4(s); ok {
		return a, true
	}
	if countColon(s) == 0 {
		return netip.Addr{}, false
	}
	var a netip.Addr
	if err := a.UnmarshalText(s); err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// parseIPv4 parses a dotted-decimal IPv4 address as netip.ParseAddr does
// (four fields, no leading zeros), without the string conversion that
// makes netip allocate.
func parseIPv4(s []byte) (netip.Addr, bool) {
	var ip [4]byte
	field, n, digits := 0, 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if digits == 0 || field == len(ip) {
				return netip.Addr{}, false
			}
			ip[field] = byte(n)
			field, n, digits = field+1, 0, 0
			continue
		}
		c := s[i]
		if c < '0' || c > '9' || (digits > 0 && n == 0) {
			return netip.Addr{}, false
		}
		n = n*10 + int(c-'0')
		digits++
		if n > 255 {
			return netip.Addr{}, false
		}
	}
	if field != len(ip) {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(ip), true
}

func countColon(b []byte) int {
	n := 0
	for _, c := range b {
		if c == ':' {
			n++
		}
	}
	return n
}
