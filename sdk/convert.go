package sdk

import (
	"encoding/json"
	"errors"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/moongate/moongate/core/jsonstr"
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
			if math.IsInf(f, 0) && s.badNumber == "" {
				s.badNumber = string(x)
			}
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
		x = s.real(x)
		if n, ok := s.arrayLen(x); ok {
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

// maxArrayKey is the largest key a table written as an array may have.
const maxArrayKey = 1<<31 - 1

// arrayLen reports whether t is written as a JSON array, and its length.
// No key is ever dropped: a table with a key that is not an integer from
// 1 to maxArrayKey is an object (its number keys written as strings),
// whether it carries the array marker or not. A marked table (a decoded
// JSON array, gw.json.array) with only such keys is an array as long as
// its largest key, holes written as null; an unmarked one is an array
// when its keys are exactly 1..n, n ≥ 1.
//
// lua-cjson, and so OpenResty and Kong, writes a table carrying its
// array metatable by its length (lua_objlen) and drops its other keys;
// moongate writes it as an object instead.
func (s *State) arrayLen(t *lua.LTable) (int, bool) {
	count, max, ok := 0, 0, true
	t.ForEach(func(k, _ lua.LValue) {
		n, num := k.(lua.LNumber)
		if !ok || !num || n < 1 || n > maxArrayKey || float64(n) != math.Trunc(float64(n)) {
			ok = false
			return
		}
		count++
		max = int(max64(float64(max), float64(n)))
	})
	switch {
	case !ok:
		return 0, false
	case t.Metatable == s.arrayMeta:
		return max, true
	}
	return count, count > 0 && max == count
}

func max64(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
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
		return appendJSONNumber(dst, float64(x))
	case lua.LString:
		return jsonstr.Quote(dst, string(x)), nil
	case *lua.LUserData:
		if x == s.null {
			return append(dst, "null"...), nil
		}
	case *lua.LTable:
		x = s.real(x)
		if n, ok := s.arrayLen(x); ok {
			dst = append(dst, '[')
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
			dst = jsonstr.Quote(dst, it.k)
			dst = append(dst, ':')
			if dst, err = s.appendJSON(dst, it.v, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	}
	return dst, errors.New("cannot encode a " + v.Type().String())
}

// appendJSONNumber appends f the way JavaScript's JSON.stringify (and
// Go's encoding/json) writes numbers: the shortest decimal that reads
// back as the same double, in plain digits from 1e-6 to 1e21 (so
// integers below 1e21 have no exponent), with an exponent otherwise.
// NaN and infinities have no JSON form.
func appendJSONNumber(dst []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, errors.New("cannot encode NaN or infinity")
	}
	if f == 0 {
		return append(dst, '0'), nil // also -0
	}
	format := byte('f')
	if abs := math.Abs(f); abs < 1e-6 || abs >= 1e21 {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// 2.5e-08 → 2.5e-8
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}

// jsonName returns s as it reads once written by jsonstr.Quote, which
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
