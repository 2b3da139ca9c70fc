package sdk

import (
	"encoding/json"
	"errors"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
)

// maxDepth bounds nesting in conversions and JSON (and so catches cycles).
const maxDepth = 100

var errDepth = errors.New("nesting deeper than 100 levels (or a cycle)")

// ToLua converts a Go value (string, []byte, bool, numbers, nil,
// map[string]any, []any, and the other types TOML and JSON decode to)
// into a Lua value. Lists get the JSON array marker, so gw.json.encode
// writes them as arrays even when empty.
func (s *State) ToLua(L *lua.LState, v any) lua.LValue { return s.toLua(L, v, false) }

// toLua is ToLua; fromJSON makes nil gw.json.null and json.Number a
// number, as in values encoding/json decoded (with UseNumber).
func (s *State) toLua(L *lua.LState, v any, fromJSON bool) lua.LValue {
	switch x := v.(type) {
	case nil:
		if fromJSON {
			return s.null
		}
		return lua.LNil
	case json.Number:
		if fromJSON {
			f, _ := strconv.ParseFloat(string(x), 64)
			return lua.LNumber(f)
		}
		return lua.LString(x)
	case string:
		return lua.LString(x)
	case []byte:
		return lua.LString(x)
	case bool:
		return lua.LBool(x)
	case int:
		return lua.LNumber(x)
	case int64:
		return lua.LNumber(x)
	case float64:
		return lua.LNumber(x)
	case map[string]any:
		t := L.CreateTable(0, len(x))
		for k, e := range x {
			t.RawSetString(k, s.toLua(L, e, fromJSON))
		}
		return t
	case []any:
		t := L.CreateTable(len(x), 0)
		for _, e := range x {
			t.Append(s.toLua(L, e, fromJSON))
		}
		L.SetMetatable(t, s.arrayMeta)
		return t
	case []map[string]any:
		t := L.CreateTable(len(x), 0)
		for _, e := range x {
			t.Append(s.toLua(L, e, fromJSON))
		}
		L.SetMetatable(t, s.arrayMeta)
		return t
	case interface{ String() string }:
		return lua.LString(x.String())
	}
	return lua.LNil
}

// toGo converts a Lua value into string, float64, bool, nil, []any or
// map[string]any, for values shared with Go code (gw.ctx).
func (s *State) toGo(v lua.LValue, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errDepth
	}
	switch x := v.(type) {
	case *lua.LNilType:
		return nil, nil
	case lua.LBool:
		return bool(x), nil
	case lua.LNumber:
		return float64(x), nil
	case lua.LString:
		return string(x), nil
	case *lua.LUserData:
		if x == s.null {
			return nil, nil
		}
	case *lua.LTable:
		if s.isArray(x) {
			n := x.Len()
			out := make([]any, 0, n)
			for i := 1; i <= n; i++ {
				e, err := s.toGo(x.RawGetInt(i), depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, e)
			}
			return out, nil
		}
		out := map[string]any{}
		var err error
		x.ForEach(func(k, e lua.LValue) {
			if err != nil {
				return
			}
			var key string
			switch kk := k.(type) {
			case lua.LString:
				key = string(kk)
			case lua.LNumber:
				key = kk.String()
			default:
				err = errors.New("table keys must be strings or numbers, got " + k.Type().String())
				return
			}
			var ge any
			if ge, err = s.toGo(e, depth+1); err == nil {
				out[key] = ge
			}
		})
		return out, err
	}
	return nil, errors.New("cannot convert a " + v.Type().String())
}

// isArray reports whether t is written as a JSON array: it carries the
// array marker, or it is a non-empty sequence 1..n with no other keys.
func (s *State) isArray(t *lua.LTable) bool {
	if t.Metatable == s.arrayMeta {
		return true
	}
	n := t.Len()
	if n == 0 {
		return false
	}
	count := 0
	t.ForEach(func(_, _ lua.LValue) { count++ })
	return count == n
}

// encodeJSON appends v as JSON to dst.
func (s *State) encodeJSON(dst []byte, v lua.LValue) ([]byte, error) {
	start := len(dst)
	dst, err := s.appendJSON(dst, v, 0)
	if err == nil && len(dst)-start > s.opts.MaxString {
		err = errTooBig
	}
	return dst, err
}

var errTooBig = errors.New("result exceeds max_string_size")

func (s *State) appendJSON(dst []byte, v lua.LValue, depth int) ([]byte, error) {
	if depth > maxDepth {
		return dst, errDepth
	}
	if len(dst) > s.opts.MaxString {
		return dst, errTooBig
	}
	switch x := v.(type) {
	case *lua.LNilType:
		return append(dst, "null"...), nil
	case lua.LBool:
		return strconv.AppendBool(dst, bool(x)), nil
	case lua.LNumber:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return dst, errors.New("cannot encode NaN or infinity")
		}
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return strconv.AppendInt(dst, int64(f), 10), nil
		}
		return strconv.AppendFloat(dst, f, 'g', -1, 64), nil
	case lua.LString:
		return appendJSONString(dst, string(x)), nil
	case *lua.LUserData:
		if x == s.null {
			return append(dst, "null"...), nil
		}
	case *lua.LTable:
		if s.isArray(x) {
			dst = append(dst, '[')
			n := x.Len()
			var err error
			for i := 1; i <= n; i++ {
				if i > 1 {
					dst = append(dst, ',')
				}
				if dst, err = s.appendJSON(dst, x.RawGetInt(i), depth+1); err != nil {
					return dst, err
				}
			}
			return append(dst, ']'), nil
		}
		type kv struct {
			k    string
			name string // k as JSON reads it: invalid UTF-8 bytes are U+FFFD
			v    lua.LValue
		}
		var items []kv
		var err error
		x.ForEach(func(k, e lua.LValue) {
			switch kk := k.(type) {
			case lua.LString:
				items = append(items, kv{string(kk), jsonName(string(kk)), e})
			case lua.LNumber:
				items = append(items, kv{kk.String(), kk.String(), e})
			default:
				err = errors.New("cannot encode a table key of type " + k.Type().String())
			}
		})
		if err != nil {
			return dst, err
		}
		sort.Slice(items, func(i, j int) bool { return items[i].name < items[j].name })
		for i := 1; i < len(items); i++ {
			// 1 and "1", or "\xff" and "\xfe", would be written as the
			// same name: a duplicate, which receivers read differently
			// (RFC 8259 §4).
			if items[i].name == items[i-1].name {
				return dst, errors.New("two table keys are the same JSON name " + strconv.Quote(items[i].name))
			}
		}
		dst = append(dst, '{')
		for i, it := range items {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, it.k)
			dst = append(dst, ':')
			if dst, err = s.appendJSON(dst, it.v, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	}
	return dst, errors.New("cannot encode a " + v.Type().String())
}

func appendJSONString(b []byte, str string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(str); {
		c := str[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(str[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, str[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// jsonName returns s as it reads once written by appendJSONString, which
// writes each byte that is not valid UTF-8 as U+FFFD.
func jsonName(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// ToGo converts a Lua value into string, float64, bool, nil, []any or
// map[string]any (gw.json.null becomes nil).
func (s *State) ToGo(v lua.LValue) (any, error) { return s.toGo(v, 0) }
