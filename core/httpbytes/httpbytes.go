package httpbytes

// Lower returns c in lower case when it is an ASCII upper-case letter,
// and c unchanged otherwise.
func Lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// EqualFold reports whether b and s are equal, ignoring ASCII case.
func EqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if Lower(b[i]) != Lower(s[i]) {
			return false
		}
	}
	return true
}

// HasPrefixFold reports whether b begins with prefix, ignoring ASCII
// case: HasPrefixFold(contentType, "text/event-stream").
func HasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && EqualFold(b[:len(prefix)], prefix)
}

// AppendLower appends s to dst with ASCII letters in lower case.
func AppendLower(dst, s []byte) []byte {
	for _, c := range s {
		dst = append(dst, Lower(c))
	}
	return dst
}

// TrimOWS returns b without its leading and trailing spaces and tabs
// (optional whitespace); it shares b's bytes.
func TrimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// NextElement splits the first element off a comma-separated list: elem
// is that element without optional whitespace (empty for an empty
// element, as in "a,,b"), rest what follows its comma, nil after the
// last element. A walk over a list:
//
//	for list := v; len(list) > 0; {
//		var elem []byte
//		elem, list = httpbytes.NextElement(list)
//		...
//	}
func NextElement(list []byte) (elem, rest []byte) {
	for i, c := range list {
		if c == ',' {
			return TrimOWS(list[:i]), list[i+1:]
		}
	}
	return TrimOWS(list), nil
}

// HasToken reports whether the comma-separated list holds tok, ignoring
// ASCII case: HasToken(connection, "upgrade").
func HasToken(list []byte, tok string) bool {
	for len(list) > 0 {
		var elem []byte
		elem, list = NextElement(list)
		if EqualFold(elem, tok) {
			return true
		}
	}
	return false
}

// Unhex returns the value of the hexadecimal digit c (0-9, a-f, A-F),
// and false when c is not one.
func Unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// HexByte returns the byte that the hexadecimal digits hi and lo stand
// for, as in a percent-encoded "%2F", and false when either is not a
// hexadecimal digit.
func HexByte(hi, lo byte) (byte, bool) {
	h, ok1 := Unhex(hi)
	l, ok2 := Unhex(lo)
	return h<<4 | l, ok1 && ok2
}

// PortColon returns the index of the colon that separates a port from a
// Host value ("example.com:8080", "[::1]:8080"), or -1 when there is no
// port: the colons inside an IPv6 literal ("[::1]") do not count.
func PortColon(host []byte) int {
	for i := len(host) - 1; i >= 0; i-- {
		switch host[i] {
		case ':':
			return i
		case ']':
			return -1
		}
	}
	return -1
}
