package realip

import (
	"net/netip"
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
// remote with the given X-Forwarded-For value. When remote is not trusted,
// it is the client. Otherwise X-Forwarded-For is read from the right,
// skipping trusted proxies: the first untrusted address is the client (a
// client can prepend anything, but cannot forge what trusted proxies
// appended). If every hop is trusted, the leftmost valid address is used;
// an unparsable entry stops the walk at the last good address.
func (t *Trusted) ClientIP(remote netip.Addr, xff []byte) netip.Addr {
	remote = remote.Unmap()
	if len(xff) == 0 || !t.Contains(remote) {
		return remote
	}
	client := remote
	end := len(xff)
	for end > 0 {
		start := end - 1
		for start >= 0 && xff[start] != ',' {
			start--
		}
		a, ok := parseAddr(xff[start+1 : end])
		if !ok {
			return client
		}
		client = a
		if !t.Contains(a) {
			return a
		}
		end = start
		if end < 0 {
			break
		}
	}
	return client
}

// parseAddr parses one X-Forwarded-For entry, trimming spaces and allowing
// a port or brackets around IPv6 ("[::1]:80", "1.2.3.4:80"). It does not
// allocate.
func parseAddr(b []byte) (netip.Addr, bool) {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
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
	var a netip.Addr
	if err := a.UnmarshalText(s); err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
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
