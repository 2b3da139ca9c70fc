package jsonedit

import (
	"github.com/moongate/moongate/core/jsonstr"
	"strconv"
	"unicode/utf8"
)

// MaxDepth bounds the nesting of the documents Apply accepts; deeper input
// is refused rather than risking the stack.
const MaxDepth = 1000

// SyntaxError reports input that is not well-formed JSON.
type SyntaxError struct {
	Offset int    // byte offset of the problem in the input
	Msg    string // what is wrong
}

func (e *SyntaxError) Error() string {
	return "jsonedit: invalid JSON at offset " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

func syntaxErr(off int, msg string) error { return &SyntaxError{Offset: off, Msg: msg} }

// skipValue checks the JSON value starting at b[i] (no leading space) and
// returns the offset just past it. base is b's offset in the original
// input, for error messages.
func skipValue(b []byte, i, depth, base int) (int, error) {
	if i >= len(b) {
		return i, syntaxErr(base+i, "unexpected end of input")
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := skipString(b, i, base)
		return end, err
	case c == '{':
		if depth >= MaxDepth {
			return i, syntaxErr(base+i, "nested too deeply")
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1, nil
		}
		for {
			if i >= len(b) || b[i] != '"' {
				return i, syntaxErr(base+i, "expected a string key")
			}
			var err error
			if i, _, err = skipString(b, i, base); err != nil {
				return i, err
			}
			i = skipSpace(b, i)
			if i >= len(b) || b[i] != ':' {
				return i, syntaxErr(base+i, `expected ":" after a key`)
			}
			i = skipSpace(b, i+1)
			if i, err = skipValue(b, i, depth+1, base); err != nil {
				return i, err
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return i, syntaxErr(base+i, "unexpected end of input in an object")
			}
			if b[i] == '}' {
				return i + 1, nil
			}
			if b[i] != ',' {
				return i, syntaxErr(base+i, `expected "," or "}" in an object`)
			}
			i = skipSpace(b, i+1)
		}
	case c == '[':
		if depth >= MaxDepth {
			return i, syntaxErr(base+i, "nested too deeply")
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1, nil
		}
		for {
			var err error
			if i, err = skipValue(b, i, depth+1, base); err != nil {
				return i, err
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return i, syntaxErr(base+i, "unexpected end of input in an array")
			}
			if b[i] == ']' {
				return i + 1, nil
			}
			if b[i] != ',' {
				return i, syntaxErr(base+i, `expected "," or "]" in an array`)
			}
			i = skipSpace(b, i+1)
		}
	case c == '-' || c >= '0' && c <= '9':
		return skipNumber(b, i, base)
	case c == 't':
		return skipLiteral(b, i, "true", base)
	case c == 'f':
		return skipLiteral(b, i, "false", base)
	case c == 'n':
		return skipLiteral(b, i, "null", base)
	}
	return i, syntaxErr(base+i, "unexpected character "+strconv.QuoteRune(rune(b[i])))
}

func skipLiteral(b []byte, i int, lit string, base int) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, syntaxErr(base+i, "invalid literal")
	}
	return i + len(lit), nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func skipNumber(b []byte, i, base int) (int, error) {
	start := i
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return i, syntaxErr(base+start, "invalid number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return i, syntaxErr(base+start, "invalid number")
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return i, syntaxErr(base+start, "invalid number")
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i, nil
}

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// skipString checks the string starting at b[i] (the opening quote) and
// returns the offset past its closing quote and whether it holds escapes.
func skipString(b []byte, i, base int) (int, bool, error) {
	start := i
	i++
	escaped := false
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return i + 1, escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				return i, escaped, syntaxErr(base+start, "unterminated string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return i, escaped, syntaxErr(base+i, `invalid \u escape`)
				}
				i += 6
			default:
				return i, escaped, syntaxErr(base+i, "invalid escape")
			}
		case c < 0x20:
			return i, escaped, syntaxErr(base+i, "control character in a string")
		default:
			i++
		}
	}
	return i, escaped, syntaxErr(base+start, "unterminated string")
}

// appendUnquoted appends the text of the already checked string literal
// s (without its quotes) to dst (see jsonstr.AppendUnquoted).
func appendUnquoted(dst, s []byte) []byte { return jsonstr.AppendUnquoted(dst, s) }

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string literal (with quotes) to dst:
// quotes, backslashes and control characters are escaped, and invalid
// UTF-8 becomes U+FFFD, as encoding/json does.
func AppendString(dst []byte, s []byte) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c >= 0x20:
				dst = append(dst, c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, "\ufffd"...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}
