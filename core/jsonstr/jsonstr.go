// Package jsonstr writes strings as JSON strings (RFC 8259 §7), appending
// to a caller's buffer without allocating: for the gateway's error
// bodies, the access log's JSON lines and the Lua SDK's gw.json.encode.
//
// What is escaped: '"', '\\', the control characters U+0000 to U+001F
// (as \n, \r, \t, or \u00XX) and DEL (\u007f); with the HTML variants,
// also '<', '>' and '&' (as \u003c, \u003e, \u0026, as encoding/json does
// by default), so that a body a browser sniffs as HTML holds no markup.
// Valid UTF-8 is written as it is. Each byte that is not part of valid
// UTF-8 becomes \ufffd, the replacement character, as encoding/json does:
// the output is valid JSON whatever bytes came in (a header a client
// sent, a string a script built), and decodes to what
// strings.ToValidUTF8 would give, one U+FFFD per bad byte.
package jsonstr

import (
	"encoding/binary"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/moongate/moongate/core/httpbytes"
)

// safe marks the ASCII bytes written as they are; htmlSafe the same
// without '<', '>' and '&'. Bytes from 0x80 are checked as UTF-8.
var safe, htmlSafe = func() (t, h [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
		h[c] = t[c] && c != '<' && c != '>' && c != '&'
	}
	return t, h
}()

// AppendString appends s, escaped, as the inside of a JSON string: the
// caller writes the quotes.
func AppendString(dst []byte, s string) []byte { return appendEscaped(dst, s, &safe) }

// AppendBytes is AppendString for a []byte.
func AppendBytes(dst, s []byte) []byte { return appendEscaped(dst, bytesString(s), &safe) }

// AppendStringHTML is AppendString that also escapes '<', '>' and '&'.
func AppendStringHTML(dst []byte, s string) []byte { return appendEscaped(dst, s, &htmlSafe) }

// Quote appends s as a JSON string, quotes included.
func Quote(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendEscaped(dst, s, &safe)
	return append(dst, '"')
}

// QuoteHTML is Quote that also escapes '<', '>' and '&'.
func QuoteHTML(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendEscaped(dst, s, &htmlSafe)
	return append(dst, '"')
}

// bytesString is s seen as a string, without a copy: appendEscaped only
// reads it, and keeps nothing of it.
func bytesString(s []byte) string { return unsafe.String(unsafe.SliceData(s), len(s)) }

const hexDigits = "0123456789abcdef"

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plainWord reports whether the 8 bytes of w are all safe (printable
// ASCII other than '"' and '\\'), testing them at once: a byte of v is
// zero when (v - ones) &^ v has its high bit set, and a byte is below
// 0x20 when w - 0x20 in it borrows.
func plainWord(w string) bool {
	v := binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(w), 8))
	q, b, d := v^('"'*ones), v^('\\'*ones), v^(0x7f*ones)
	bad := v | (v-0x20*ones)&^v | (q-ones)&^q | (b-ones)&^b | (d-ones)&^d
	return bad&highs == 0
}

// appendEscaped copies the runs of bytes that need no escape at once, and
// escapes the others.
func appendEscaped(dst []byte, s string, ok *[256]bool) []byte {
	start := 0
	for i := 0; i < len(s); {
		if ok == &safe {
			// Eight plain bytes at a time: most strings (paths, user
			// agents, IDs) have nothing to escape.
			for i+8 <= len(s) && plainWord(s[i:i+8]) {
				i += 8
			}
		}
		for i < len(s) && ok[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	return append(dst, s[start:]...)
}

// AppendUnquoted appends the text of the well-formed JSON string literal
// s (without its quotes) to dst, resolving escapes as encoding/json does:
// a lone surrogate and invalid UTF-8 become U+FFFD. s must have been
// checked by a JSON scanner: every backslash starts a complete escape.
func AppendUnquoted(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' && c < utf8.RuneSelf {
			j := i + 1
			for j < len(s) && s[j] != '\\' && s[j] < utf8.RuneSelf {
				j++
			}
			dst = append(dst, s[i:j]...)
			i = j
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, "\ufffd"...)
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
			continue
		}
		if i+1 >= len(s) {
			return dst
		}
		switch s[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, n := decodeU(s[i:])
			dst = utf8.AppendRune(dst, r)
			i += n
			continue
		default: // '"', '\\', '/'
			dst = append(dst, s[i+1])
		}
		i += 2
	}
	return dst
}

// decodeU decodes the \uXXXX escape at the start of s, with the low
// surrogate that follows a high one, returning the rune (U+FFFD for a
// lone surrogate) and the bytes consumed.
func decodeU(s []byte) (rune, int) {
	r1, ok := hex4(s)
	if !ok {
		return utf8.RuneError, len(s)
	}
	if !utf16.IsSurrogate(r1) {
		return r1, 6
	}
	if r2, ok := hex4(s[min(6, len(s)):]); ok && len(s) >= 12 && s[6] == '\\' {
		if d := utf16.DecodeRune(r1, r2); d != utf8.RuneError {
			return d, 12
		}
	}
	return utf8.RuneError, 6
}

// hex4 reads the four hex digits of a \uXXXX escape at the start of s.
func hex4(s []byte) (rune, bool) {
	if len(s) < 6 || s[1] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range s[2:6] {
		d, ok := httpbytes.Unhex(c)
		if !ok {
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}
