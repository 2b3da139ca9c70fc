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
	"unicode/utf8"
	"unsafe"
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

// appendEscaped copies the runs of bytes that need no escape at once, and
// escapes the others.
func appendEscaped(dst []byte, s string, ok *[256]bool) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if ok[c] {
			i++
			continue
		}
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
