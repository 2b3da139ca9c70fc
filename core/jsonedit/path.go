package jsonedit

import (
	"errors"
	"strconv"
)

// MaxPathSegments bounds the length of a path.
const MaxPathSegments = 32

// ParsePath splits a dotted path into its segments: "a.b.c" is a, b, c;
// a backslash escapes a dot or a backslash inside a key ("a\.b" is the one
// key "a.b", "a\\b" the key `a\b`). Empty segments, a trailing backslash
// and any other escape are errors.
func ParsePath(s string) ([]string, error) {
	if s == "" {
		return nil, errors.New("empty path")
	}
	var segs []string
	var cur []byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 >= len(s) || (s[i+1] != '.' && s[i+1] != '\\') {
				return nil, errors.New("path " + strconv.Quote(s) + `: "\" escapes only "." or "\" (offset ` + strconv.Itoa(i) + ")")
			}
			cur = append(cur, s[i+1])
			i++
		case '.':
			if len(cur) == 0 {
				return nil, errors.New("path " + strconv.Quote(s) + ": empty segment at offset " + strconv.Itoa(i))
			}
			segs = append(segs, string(cur))
			cur = cur[:0]
		default:
			cur = append(cur, c)
		}
	}
	if len(cur) == 0 {
		return nil, errors.New("path " + strconv.Quote(s) + ": ends with an empty segment")
	}
	segs = append(segs, string(cur))
	if len(segs) > MaxPathSegments {
		return nil, errors.New("path " + strconv.Quote(s) + ": more than " + strconv.Itoa(MaxPathSegments) + " segments")
	}
	return segs, nil
}

// index returns the array index a segment stands for: digits only, no
// leading zero (except "0" itself).
func index(seg string) (int, bool) {
	if seg == "" || len(seg) > 9 || (seg[0] == '0' && len(seg) > 1) {
		return 0, false
	}
	n := 0
	for i := 0; i < len(seg); i++ {
		if !isDigit(seg[i]) {
			return 0, false
		}
		n = n*10 + int(seg[i]-'0')
	}
	return n, true
}
