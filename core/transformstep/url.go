package transformstep

const hexDigits = "0123456789ABCDEF"

// AppendPath appends the decoded path p percent-encoded for use in a URL:
// unreserved characters, sub-delimiters, ':', '@' and '/' as they are,
// every other byte (a '%' too) as %XX, so that decoding the result gives
// p back. It is how the gateway sends a path upstream.
func AppendPath(dst, p []byte) []byte {
	for _, c := range p {
		if pathSafe[c] {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return dst
}

// AppendURLSafe appends s, an already encoded URL part (a raw query
// string), with the bytes that may not appear in a URL at all (controls,
// space, non-ASCII, `"<>\^{|}` and the backtick) percent-encoded; '%' and
// the delimiters stay as they are.
func AppendURLSafe(dst, s []byte) []byte {
	for _, c := range s {
		if c <= ' ' || c >= 0x7f || urlUnsafe[c] {
			dst = append(dst, '%', hexDigits[c>>4], hexDigits[c&15])
		} else {
			dst = append(dst, c)
		}
	}
	return dst
}

var pathSafe = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-._~!$&'()*+,;=:@/" {
		t[c] = true
	}
	return t
}()

var urlUnsafe = func() (t [256]bool) {
	for _, c := range "\"<>\\^`{|}" {
		t[c] = true
	}
	return t
}()
