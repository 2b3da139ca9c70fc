package tracecontext

// The limits of tracestate (W3C Trace Context §3.3.1): what the gateway
// forwards is cut to them.
const (
	// MaxMembers is the most list-members a tracestate holds.
	MaxMembers = 32
	// MaxTracestateLen is the most characters of tracestate the gateway
	// forwards (the specification's "at least 512", as the limit).
	MaxTracestateLen = 512
	// longMember: past MaxTracestateLen, members longer than this go
	// first.
	longMember  = 128
	maxKeyLen   = 256
	maxValueLen = 256
)

// AppendTracestate appends to dst the tracestate to forward, made from the
// received header's lines (repeated lines form one list, in order), and
// reports whether the received list was well-formed. A list with a
// malformed member (a key or value outside the grammar, a member without
// '=') or a key twice is dropped whole: nothing is appended and ok is
// false. A well-formed list is written with its members in order, without
// the optional whitespace and empty members, and cut to the limits as the
// specification asks: members past the 32nd are dropped; then, while the
// list is longer than MaxTracestateLen, members longer than 128
// characters are dropped starting from the right, then any member from
// the right. dst may be a stack buffer of MaxTracestateLen bytes: the
// result never needs more.
func AppendTracestate(dst []byte, lines [][]byte) (out []byte, ok bool) {
	var members [MaxMembers][]byte
	n := 0
	for _, line := range lines {
		for len(line) > 0 {
			var m []byte
			m, line = nextMember(line)
			if len(m) == 0 {
				continue
			}
			keyLen, valid := checkMember(m)
			if !valid {
				return dst, false
			}
			for _, prev := range members[:n] {
				if len(prev) > keyLen && prev[keyLen] == '=' && string(prev[:keyLen]) == string(m[:keyLen]) {
					return dst, false // a key twice
				}
			}
			if n == MaxMembers {
				// Past the 32nd member: dropped, as the rightmost go first
				// when a list is cut (the rest is still checked: a
				// malformed list is dropped whole).
				continue
			}
			members[n] = m
			n++
		}
	}
	size := -1
	for _, m := range members[:n] {
		size += len(m) + 1
	}
	for i := n - 1; i >= 0 && size > MaxTracestateLen; i-- {
		if len(members[i]) > longMember {
			size -= len(members[i]) + 1
			members[i] = nil
		}
	}
	for i := n - 1; i >= 0 && size > MaxTracestateLen; i-- {
		if members[i] != nil {
			size -= len(members[i]) + 1
			members[i] = nil
		}
	}
	first := true
	for _, m := range members[:n] {
		if m == nil {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		dst = append(dst, m...)
		first = false
	}
	return dst, true
}

// nextMember returns the first member of a list, without the optional
// whitespace around it, and the rest after its comma.
func nextMember(l []byte) (m, rest []byte) {
	i := 0
	for i < len(l) && l[i] != ',' {
		i++
	}
	m, rest = l[:i], l[i:]
	if len(rest) > 0 {
		rest = rest[1:]
	}
	for len(m) > 0 && (m[0] == ' ' || m[0] == '\t') {
		m = m[1:]
	}
	for len(m) > 0 && (m[len(m)-1] == ' ' || m[len(m)-1] == '\t') {
		m = m[:len(m)-1]
	}
	return m, rest
}

// checkMember checks one list-member, trimmed, "key=value", and returns
// the length of its key:
//
//	key      = ( lcalpha / DIGIT ) 0*255 ( lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@" )
//	value    = 0*255( %x20 / nblk-chr ) nblk-chr
//	nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
func checkMember(m []byte) (keyLen int, ok bool) {
	eq := -1
	for i, c := range m {
		if c == '=' {
			eq = i
			break
		}
	}
	if eq < 1 || eq > maxKeyLen || len(m)-eq-1 < 1 || len(m)-eq-1 > maxValueLen {
		return 0, false
	}
	if c := m[0]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
		return 0, false
	}
	for _, c := range m[1:eq] {
		if !keyChar[c] {
			return 0, false
		}
	}
	// The member was trimmed, so its value cannot end in a space.
	for _, c := range m[eq+1:] {
		if c < 0x20 || c > 0x7e || c == ',' || c == '=' {
			return 0, false
		}
	}
	return eq, true
}

var keyChar = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "_-*/@" {
		t[c] = true
	}
	return t
}()
