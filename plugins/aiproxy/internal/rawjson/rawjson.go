package rawjson

import (
	"errors"
	"strconv"

	"github.com/moongate/moongate/core/httpbytes"
	"github.com/moongate/moongate/core/jsonstr"
)

// MaxDepth bounds the nesting of arrays and objects a value may have;
// deeper input is refused rather than risking the stack.
const MaxDepth = 512

// ErrSyntax is returned for input that is not well-formed JSON.
var ErrSyntax = errors.New("rawjson: malformed JSON")

// ErrDepth is returned for input nested deeper than MaxDepth.
var ErrDepth = errors.New("rawjson: JSON nested too deeply")

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

// Value returns the span [start, end) of the JSON value that begins at
// data[i], after optional whitespace, checking that it is well-formed.
func Value(data []byte, i int) (start, end int, err error) {
	start = skipSpace(data, i)
	end, err = skip(data, start, 0)
	return start, end, err
}

// Valid reports whether data is exactly one well-formed JSON value,
// optionally surrounded by whitespace.
func Valid(data []byte) bool {
	_, end, err := Value(data, 0)
	return err == nil && skipSpace(data, end) == len(data)
}

// Trim returns the single JSON value in data without its surrounding
// whitespace, or an error when data is not exactly one well-formed value.
func Trim(data []byte) ([]byte, error) {
	start, end, err := Value(data, 0)
	if err != nil {
		return nil, err
	}
	if skipSpace(data, end) != len(data) {
		return nil, ErrSyntax
	}
	return data[start:end], nil
}

func skip(data []byte, i, depth int) (int, error) {
	if i >= len(data) {
		return i, ErrSyntax
	}
	switch c := data[i]; {
	case c == '"':
		return skipString(data, i)
	case c == '{':
		return skipObject(data, i, depth+1)
	case c == '[':
		return skipArray(data, i, depth+1)
	case c == '-' || (c >= '0' && c <= '9'):
		return skipNumber(data, i)
	case c == 't':
		return skipLiteral(data, i, "true")
	case c == 'f':
		return skipLiteral(data, i, "false")
	case c == 'n':
		return skipLiteral(data, i, "null")
	}
	return i, ErrSyntax
}

func skipLiteral(data []byte, i int, lit string) (int, error) {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return i, ErrSyntax
	}
	return i + len(lit), nil
}

func isHex(c byte) bool {
	_, ok := httpbytes.Unhex(c)
	return ok
}

// skipString returns the index after the closing quote of the string
// literal starting at data[i] (which is '"').
func skipString(data []byte, i int) (int, error) {
	i++
	for i < len(data) {
		c := data[i]
		switch {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= len(data) {
				return i, ErrSyntax
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(data) || !isHex(data[i+2]) || !isHex(data[i+3]) || !isHex(data[i+4]) || !isHex(data[i+5]) {
					return i, ErrSyntax
				}
				i += 6
			default:
				return i, ErrSyntax
			}
		case c < 0x20:
			return i, ErrSyntax
		default:
			i++
		}
	}
	return i, ErrSyntax
}

func skipNumber(data []byte, i int) (int, error) {
	if data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && data[i] >= '1' && data[i] <= '9':
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
	default:
		return i, ErrSyntax
	}
	if i < len(data) && data[i] == '.' {
		i++
		d := i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
		if i == d {
			return i, ErrSyntax
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		d := i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
		if i == d {
			return i, ErrSyntax
		}
	}
	return i, nil
}

func skipObject(data []byte, i, depth int) (int, error) {
	if depth > MaxDepth {
		return i, ErrDepth
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return i, ErrSyntax
		}
		var err error
		if i, err = skipString(data, i); err != nil {
			return i, err
		}
		i = skipSpace(data, i)
		if i >= len(data) || data[i] != ':' {
			return i, ErrSyntax
		}
		i = skipSpace(data, i+1)
		if i, err = skip(data, i, depth); err != nil {
			return i, err
		}
		i = skipSpace(data, i)
		if i >= len(data) {
			return i, ErrSyntax
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return i + 1, nil
		default:
			return i, ErrSyntax
		}
	}
}

func skipArray(data []byte, i, depth int) (int, error) {
	if depth > MaxDepth {
		return i, ErrDepth
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		return i + 1, nil
	}
	for {
		var err error
		if i, err = skip(data, i, depth); err != nil {
			return i, err
		}
		i = skipSpace(data, i)
		if i >= len(data) {
			return i, ErrSyntax
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case ']':
			return i + 1, nil
		default:
			return i, ErrSyntax
		}
	}
}

// Iter walks the members of an object or the elements of an array. It is
// a value type: declare it on the stack with Object or Array, then call
// Next until it returns false and check Err.
//
//	it := rawjson.Object(data)
//	for it.Next() {
//		if it.KeyIs("usage") { ... it.Value() ... }
//	}
//	if it.Err() != nil { ... }
type Iter struct {
	data  []byte
	i     int
	close byte
	state uint8 // 0 before the first member, 1 inside, 2 done
	key   []byte
	val   []byte
	err   error
}

// Object returns an iterator over the members of the JSON object in data
// (surrounding whitespace allowed). A value that is not an object ends the
// iteration at once with ErrSyntax.
func Object(data []byte) Iter { return Iter{data: data, close: '}'} }

// Array returns an iterator over the elements of the JSON array in data.
func Array(data []byte) Iter { return Iter{data: data, close: ']'} }

// Next advances to the next member or element and reports whether there is
// one. A syntax error ends the iteration; Err returns it.
func (it *Iter) Next() bool {
	if it.state == 2 {
		return false
	}
	i := it.i
	if it.state == 0 {
		i = skipSpace(it.data, 0)
		open := byte('{')
		if it.close == ']' {
			open = '['
		}
		if i >= len(it.data) || it.data[i] != open {
			return it.fail(ErrSyntax)
		}
		i = skipSpace(it.data, i+1)
		if i < len(it.data) && it.data[i] == it.close {
			it.state = 2
			return it.finish(i + 1)
		}
		it.state = 1
	} else {
		i = skipSpace(it.data, i)
		if i >= len(it.data) {
			return it.fail(ErrSyntax)
		}
		switch it.data[i] {
		case ',':
			i = skipSpace(it.data, i+1)
		case it.close:
			it.state = 2
			return it.finish(i + 1)
		default:
			return it.fail(ErrSyntax)
		}
	}
	if it.close == '}' {
		if i >= len(it.data) || it.data[i] != '"' {
			return it.fail(ErrSyntax)
		}
		end, err := skipString(it.data, i)
		if err != nil {
			return it.fail(err)
		}
		it.key = it.data[i+1 : end-1]
		i = skipSpace(it.data, end)
		if i >= len(it.data) || it.data[i] != ':' {
			return it.fail(ErrSyntax)
		}
		i = skipSpace(it.data, i+1)
	}
	end, err := skip(it.data, i, 1)
	if err != nil {
		return it.fail(err)
	}
	it.val = it.data[i:end]
	it.i = end
	return true
}

func (it *Iter) finish(i int) bool {
	if skipSpace(it.data, i) != len(it.data) {
		it.err = ErrSyntax
	}
	return false
}

func (it *Iter) fail(err error) bool {
	it.state = 2
	it.err = err
	it.key, it.val = nil, nil
	return false
}

// Err returns the syntax error that ended the iteration, if any.
func (it *Iter) Err() error { return it.err }

// Key returns the current member's key as it is written between the
// quotes (still escaped). It is nil for arrays.
func (it *Iter) Key() []byte { return it.key }

// Value returns the current member's or element's value, well-formed JSON
// without surrounding whitespace.
func (it *Iter) Value() []byte { return it.val }

// KeyIs reports whether the current member's key, unescaped, equals name.
func (it *Iter) KeyIs(name string) bool { return keyEqual(it.key, name) }

func keyEqual(raw []byte, name string) bool {
	if string(raw) == name {
		return true
	}
	// An escaped key ("mod\u0065l") names the same member as the plain
	// one; decode it into a small stack buffer to compare.
	for _, c := range raw {
		if c == '\\' {
			if len(raw) > 256 {
				return false
			}
			var buf [256]byte
			u := appendUnescaped(buf[:0], raw)
			return string(u) == name
		}
	}
	return false
}

// Get returns the value of the member key of the object in data, nil when
// there is none, data is not an object, or it is malformed. When the key
// occurs more than once the last occurrence wins, as in encoding/json.
func Get(data []byte, key string) []byte {
	var found []byte
	it := Object(data)
	for it.Next() {
		if it.KeyIs(key) {
			found = it.Value()
		}
	}
	if it.Err() != nil {
		return nil
	}
	return found
}

// IsNull reports whether the value is absent (nil) or the literal null.
func IsNull(v []byte) bool { return len(v) == 0 || string(v) == "null" }

// IsString reports whether v is a string literal.
func IsString(v []byte) bool { return len(v) >= 2 && v[0] == '"' }

// Int parses an integer value. Numbers with a fraction or exponent that
// are whole ("12.0", "1e3") are accepted; anything else reports false.
func Int(v []byte) (int64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
		return n, true
	}
	if v[0] != '-' && (v[0] < '0' || v[0] > '9') {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil || f != float64(int64(f)) {
		return 0, false
	}
	return int64(f), true
}

// StringIs reports whether v is a string literal whose unescaped text
// equals s.
func StringIs(v []byte, s string) bool {
	if !IsString(v) {
		return false
	}
	return keyEqual(v[1:len(v)-1], s)
}

// AppendUnquote appends the text of the string literal v, unescaped, to
// dst. It reports false when v is not a string literal.
func AppendUnquote(dst, v []byte) ([]byte, bool) {
	if !IsString(v) {
		return dst, false
	}
	return appendUnescaped(dst, v[1:len(v)-1]), true
}

// appendUnescaped decodes the body of a well-formed string literal
// (see jsonstr.AppendUnquoted).
func appendUnescaped(dst, s []byte) []byte { return jsonstr.AppendUnquoted(dst, s) }

// AppendCompact appends the well-formed JSON value v without its
// insignificant whitespace, so that it fits on one line.
func AppendCompact(dst, v []byte) []byte {
	inString := false
	start := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		if c == '"' {
			inString = true
		} else if isSpace(c) {
			dst = append(dst, v[start:i]...)
			start = i + 1
		}
	}
	return append(dst, v[start:]...)
}

// AppendInt appends the decimal form of n.
func AppendInt(dst []byte, n int64) []byte { return strconv.AppendInt(dst, n, 10) }

// Set returns a copy of the object obj in which every top-level member
// named key has the value val (well-formed JSON supplied by the caller);
// when there is no such member, it is added first. Every occurrence is
// replaced so that a duplicated key cannot carry a second value past the
// edit. The rest of the document is kept byte for byte.
func Set(obj []byte, key string, val []byte) ([]byte, error) {
	it := Object(obj)
	var spans [][2]int
	var buf [8][2]int
	spans = buf[:0]
	for it.Next() {
		if it.KeyIs(key) {
			v := it.Value()
			off := offset(obj, v)
			spans = append(spans, [2]int{off, off + len(v)})
		}
	}
	if it.Err() != nil {
		return nil, it.Err()
	}
	out := make([]byte, 0, len(obj)+len(key)+len(val)+4)
	if len(spans) == 0 {
		i := skipSpace(obj, 0) + 1 // after '{'
		out = append(out, obj[:i]...)
		out = jsonstr.Quote(out, key)
		out = append(out, ':')
		out = append(out, val...)
		if j := skipSpace(obj, i); obj[j] != '}' {
			out = append(out, ',')
		}
		return append(out, obj[i:]...), nil
	}
	prev := 0
	for _, s := range spans {
		out = append(out, obj[prev:s[0]]...)
		out = append(out, val...)
		prev = s[1]
	}
	return append(out, obj[prev:]...), nil
}

// offset returns the index of sub within data; sub must be a subslice.
func offset(data, sub []byte) int {
	return cap(data) - cap(sub)
}
